package io.countersign.server.gate;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.countersign.wire.spi.BoundParameter;
import io.countersign.wire.spi.ProtocolError;
import io.countersign.wire.spi.Protocol;
import io.countersign.wire.spi.SessionInfo;
import io.countersign.wire.spi.StatementCompletion;
import io.countersign.wire.spi.StatementListener;
import io.countersign.wire.spi.StatementRequest;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

class StatementListenersTest {

    static final StatementCompletion FAILED = new StatementCompletion(
            new StatementRequest(new SessionInfo("pg-9", Protocol.POSTGRESQL, "bot", "shop", new InetSocketAddress("127.0.0.1", 5555), Map.of()),
                    "UPDATE t SET a = $1 WHERE b = $2", List.of(new BoundParameter(23, false, "1".getBytes(), "1"), new BoundParameter(25, false, null, null)),
                    true, true),
            null, Instant.parse("2026-11-28T10:00:00Z"), Instant.parse("2026-11-28T10:00:00.002500Z"),
            null, 0, -1, 120, new ProtocolError("23505", 1062, "duplicate key value violates unique constraint \"t_pkey\"", null));

    @Test
    void everySinkSeesEveryCompletionAndTheClientWaitsOnlyForThoseThatAsk() {
        List<String> seen = new ArrayList<>();
        CompletableFuture<Void> durable = new CompletableFuture<>();
        StatementListener fireAndForget = c -> { seen.add("log " + c.request().sql()); return null; };
        StatementListener audit = c -> { seen.add("audit"); return durable; };

        assertThat(StatementListeners.all(fireAndForget, fireAndForget).onCompleted(FAILED)).isNull();
        assertThat(seen).hasSize(2);

        CompletionStage<Void> stage = StatementListeners.all(fireAndForget, audit).onCompleted(FAILED);
        assertThat(stage).isNotNull();
        assertThat(stage.toCompletableFuture()).isNotDone();
        durable.complete(null);
        assertThat(stage.toCompletableFuture()).isCompleted();

        CompletableFuture<Void> second = new CompletableFuture<>();
        CompletionStage<Void> both = StatementListeners.all(audit, c -> second).onCompleted(FAILED);
        assertThat(both.toCompletableFuture()).isNotDone();
        second.complete(null);
        assertThat(both.toCompletableFuture()).isCompleted();
    }

    @Test
    void logLineCarriesEveryField() throws Exception {
        JsonNode n = new ObjectMapper().readTree(StatementLog.toJson(FAILED));
        assertThat(n.get("agent").asText()).isEqualTo("bot");
        assertThat(n.get("session").asText()).isEqualTo("pg-9");
        assertThat(n.get("database").asText()).isEqualTo("shop");
        assertThat(n.get("client").asText()).isEqualTo("127.0.0.1:5555");
        assertThat(n.get("sql").asText()).isEqualTo("UPDATE t SET a = $1 WHERE b = $2");
        assertThat(n.get("parameters").toString()).isEqualTo("[\"1\",null]");
        assertThat(n.get("start").asText()).isEqualTo("2026-11-28T10:00:00Z");
        assertThat(n.get("end").asText()).isEqualTo("2026-11-28T10:00:00.002500Z");
        assertThat(n.get("durationMicros").asLong()).isEqualTo(2500);
        assertThat(n.get("commandTag").isNull()).isTrue();
        assertThat(n.get("rowsAffected").asLong()).isEqualTo(-1);
        assertThat(n.get("sqlstate").asText()).isEqualTo("23505");
        assertThat(n.get("error").asText()).contains("t_pkey");
    }
}
