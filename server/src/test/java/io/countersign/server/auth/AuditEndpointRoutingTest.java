package io.countersign.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.server.config.ConfigException;
import io.countersign.server.config.ConfigLoader;
import io.countersign.server.config.CountersignConfig;
import io.countersign.wire.spi.AgentAuthenticator.Route;
import io.countersign.wire.spi.AgentCredential;
import io.countersign.wire.spi.LocalDatabase;
import io.countersign.wire.spi.Protocol;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** tracking.sql-endpoint: analysts reach only countersign_audit, agents never do, names may not be shared. */
class AuditEndpointRoutingTest {

    static final String YAML = """
            listeners: {postgres: {port: 0}}
            backends:
              - {name: shop, host: 127.0.0.1, port: 5432, database: shop, user: cs, tls: disable}
            agents:
              - {name: bot, owner: dana@example.com, password: bot-pw, backends: ["*"]}
            tracking:
              sql-endpoint:
                analysts:
                  - {name: ana, password: ana-pw}
                  - name: ben
                    scram: "SCRAM-SHA-256$4096:c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
            """;

    /** Records which analyst each session was opened for; a session that is never queried. */
    final List<String> opened = new ArrayList<>();

    ConfigAgentAuthenticator auth(CountersignConfig config, Protocol protocol) {
        return new ConfigAgentAuthenticator(config, protocol).withAuditEndpoint(analyst -> {
            opened.add(analyst);
            return new LocalDatabase() {
                public CompletableFuture<LocalResult> execute(String sql, List<String> parameters) {
                    return CompletableFuture.failedFuture(new IllegalStateException("not queried in this test"));
                }

                public CompletableFuture<LocalResult> describe(String sql) {
                    return execute(sql, List.of());
                }

                public void close() {}
            };
        });
    }

    @Test
    void analystsGetTheAuditDatabaseAndNothingElse() {
        ConfigAgentAuthenticator pg = auth(ConfigLoader.parse(YAML, "t.yaml", Map.of()), Protocol.POSTGRESQL);
        assertThat(pg.credentialFor("ana")).contains(new AgentCredential.Password("ana-pw"));
        assertThat(pg.credentialFor("ben")).get().isInstanceOf(AgentCredential.ScramSha256.class);
        assertThat(pg.route("ana", "countersign_audit")).isInstanceOf(Route.Local.class);
        assertThat(opened).containsExactly("ana");
        assertThat(pg.route("ana", "shop")).isInstanceOfSatisfying(Route.Refused.class, r -> {
            assertThat(r.error().sqlState()).isEqualTo("28000");
            assertThat(r.error().message()).contains("only to database \"countersign_audit\"");
        });
        assertThat(opened).containsExactly("ana");
    }

    @Test
    void agentsAreRefusedTheAuditDatabaseWith42501() {
        ConfigAgentAuthenticator pg = auth(ConfigLoader.parse(YAML, "t.yaml", Map.of()), Protocol.POSTGRESQL);
        assertThat(pg.route("bot", "countersign_audit")).isInstanceOfSatisfying(Route.Refused.class, r -> {
            assertThat(r.error().sqlState()).isEqualTo("42501");
            assertThat(r.error().message()).contains("may not read the audit");
        });
        assertThat(pg.route("bot", "shop")).isInstanceOf(Route.Backend.class);
        assertThat(opened).isEmpty();
    }

    @Test
    void theMySqlListenerKnowsNoAnalysts() {
        ConfigAgentAuthenticator my = auth(ConfigLoader.parse(YAML, "t.yaml", Map.of()), Protocol.MYSQL);
        assertThat(my.credentialFor("ana")).isEmpty();
    }

    @Test
    void anAnalystNamedLikeAnAgentOrADatabaseNamedLikeABackendIsAConfigError() {
        String clash = YAML.replace("{name: ana, password: ana-pw}", "{name: bot, password: x}").replace("sql-endpoint:",
                "sql-endpoint:\n    database: shop");
        assertThatThrownBy(() -> ConfigLoader.parse(clash, "t.yaml", Map.of())).isInstanceOf(ConfigException.class)
                .hasMessageContaining("'bot' is also an agent").hasMessageContaining("'shop' is also a backend's name");
    }

    @Test
    void withoutTheSectionNobodyReachesTheAuditDatabase() {
        CountersignConfig config = ConfigLoader.parse(YAML.substring(0, YAML.indexOf("tracking:")), "t.yaml", Map.of());
        ConfigAgentAuthenticator pg = auth(config, Protocol.POSTGRESQL);
        assertThat(pg.credentialFor("ana")).isEmpty();
        assertThat(pg.route("bot", "countersign_audit")).isInstanceOfSatisfying(Route.Refused.class,
                r -> assertThat(r.error().sqlState()).isEqualTo("3D000"));
    }
}
