package io.countersign.server.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.countersign.server.config.BackendConfig;
import io.countersign.server.config.BackendTls;
import io.countersign.server.runtime.BackendProbe;
import io.countersign.testing.PostgresServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AdminHttpServerTest {

    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    final HttpClient http = HttpClient.newHttpClient();
    AdminHttpServer admin;
    String base;

    @BeforeEach
    void start() throws IOException {
        admin = new AdminHttpServer(new InetSocketAddress("127.0.0.1", 0), registry);
        base = "http://127.0.0.1:" + admin.start().getPort();
    }

    @AfterEach
    void stop() {
        admin.close();
        registry.close();
    }

    HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void healthzAnswersOk() throws Exception {
        HttpResponse<String> r = get("/healthz");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("ok\n");
        assertThat(get("/healthz/extra").statusCode()).isEqualTo(404);
    }

    @Test
    void metricsArePrometheusText() throws Exception {
        registry.counter("countersign.test.hits", "kind", "x").increment(3);
        HttpResponse<String> r = get("/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).get().asString().startsWith("text/plain");
        assertThat(r.body()).contains("countersign_test_hits_total{kind=\"x\"} 3.0");
    }

    @Test
    void readyzReportsEachCheckAndWhichFailed() throws Exception {
        AtomicBoolean flag = new AtomicBoolean(false);
        admin.addReadinessCheck("always", () -> ReadinessCheck.Status.ready("fine"));
        admin.addReadinessCheck("flag", () -> flag.get() ? ReadinessCheck.Status.ready("set") : ReadinessCheck.Status.notReady("not set yet"));
        admin.addReadinessCheck("throws", () -> { throw new IllegalStateException("boom"); });

        HttpResponse<String> r = get("/readyz");
        assertThat(r.statusCode()).isEqualTo(503);
        JsonNode body = new ObjectMapper().readTree(r.body());
        assertThat(body.get("ready").asBoolean()).isFalse();
        assertThat(body.get("failed").toString()).isEqualTo("[\"flag\",\"throws\"]");
        assertThat(body.get("checks").get(1).get("detail").asText()).isEqualTo("not set yet");
        assertThat(body.get("checks").get(2).get("detail").asText()).contains("boom");
    }

    @Test
    void aHangingCheckIsReportedAfterTwoSecondsWithoutHoldingTheOthers() throws Exception {
        admin.addReadinessCheck("hangs", () -> {
            try {
                Thread.sleep(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return ReadinessCheck.Status.ready("too late");
        });
        admin.addReadinessCheck("quick", () -> ReadinessCheck.Status.ready("fine"));
        long t0 = System.nanoTime();
        HttpResponse<String> r = get("/readyz");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(ms).isBetween(1_900L, 10_000L);
        JsonNode body = new ObjectMapper().readTree(r.body());
        assertThat(body.get("failed").toString()).isEqualTo("[\"hangs\"]");
        assertThat(body.get("checks").get(0).get("detail").asText()).isEqualTo("no answer within 2000 ms");
    }

    @Test
    void readyWhenEveryCheckPasses() throws Exception {
        admin.addReadinessCheck("a", () -> ReadinessCheck.Status.ready("fine"));
        HttpResponse<String> r = get("/readyz");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(new ObjectMapper().readTree(r.body()).get("ready").asBoolean()).isTrue();
    }

    @Test
    void otherModulesMountHandlersEvenAfterStart() throws Exception {
        admin.mount("/api/", ex -> {
            byte[] b = ("api saw " + ex.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        admin.mount("/broken", ex -> { throw new IllegalStateException("handler bug"); });
        assertThat(get("/api/requests/7").body()).isEqualTo("api saw /api/requests/7");
        HttpResponse<String> broken = get("/broken");
        assertThat(broken.statusCode()).isEqualTo(500);
        assertThat(broken.body()).contains("handler bug");
        assertThatThrownBy(() -> admin.mount("api", ex -> {})).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void bindingABusyPortSaysWhichAndWhatToDo() throws IOException {
        try (ServerSocket busy = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            AdminHttpServer second = new AdminHttpServer(new InetSocketAddress("127.0.0.1", busy.getLocalPort()), registry);
            assertThatThrownBy(second::start).isInstanceOf(BindException.class)
                    .hasMessageContaining("127.0.0.1:" + busy.getLocalPort())
                    .hasMessageContaining("choose another admin port");
            second.close();
        }
    }

    @Test
    void backendProbeTellsPostgresFromOtherListenersAndFromNothing() throws Exception {
        PostgresServer pg = PostgresServer.shared();
        assertThat(new BackendProbe(backend(pg.host(), pg.port())).check().ready()).isTrue();

        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        ReadinessCheck.Status down = new BackendProbe(backend("127.0.0.1", closedPort)).check();
        assertThat(down.ready()).isFalse();
        assertThat(down.detail()).startsWith("no answer from 127.0.0.1:" + closedPort);

        try (ServerSocket notPg = new ServerSocket(0)) {
            Thread t = Thread.ofVirtual().start(() -> {
                try (Socket c = notPg.accept()) {
                    c.getOutputStream().write("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    // take the whole 8-byte SSLRequest, then wait for the probe to hang up: closing
                    // with unread bytes would send an RST that can beat the probe's read of our answer
                    c.getInputStream().readNBytes(8);
                    c.getInputStream().read();
                } catch (IOException ignored) {
                    // the probe hung up
                }
            });
            ReadinessCheck.Status wrong = new BackendProbe(backend("127.0.0.1", notPg.getLocalPort())).check();
            assertThat(wrong.ready()).isFalse();
            assertThat(wrong.detail()).contains("not like PostgreSQL");
            t.join(2000);
        }
    }

    static BackendConfig backend(String host, int port) {
        return new BackendConfig("b", host, port, "postgres", "postgres", null, BackendTls.DISABLE);
    }
}
