package io.countersign.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.server.admin.AdminHttpServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

/** {@code countersign health}, the container image's HEALTHCHECK, against a real admin HTTP server. */
class HealthCommandTest {

    private static AdminHttpServer newAdmin() {
        return new AdminHttpServer(new InetSocketAddress("127.0.0.1", 0), new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    }

    @Test
    void upWhenTheAdminPortAnswersHealthz() throws Exception {
        try (AdminHttpServer admin = newAdmin()) {
            int port = admin.start().getPort();
            CountersignCliTest.Run r = CountersignCliTest.run("health", "--url", "http://127.0.0.1:" + port + "/healthz");
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).contains("http://127.0.0.1:" + port + "/healthz: ok");
        }
    }

    @Test
    void downWhenNothingListens() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        CountersignCliTest.Run r = CountersignCliTest.run("health", "--url", "http://127.0.0.1:" + port + "/healthz", "--timeout-ms", "2000");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("countersign health: http://127.0.0.1:" + port + "/healthz: no answer").contains("admin.port");
    }

    @Test
    void downWhenTheUrlIsNotTheHealthEndpoint() throws Exception {
        try (AdminHttpServer admin = newAdmin()) {
            int port = admin.start().getPort();
            CountersignCliTest.Run r = CountersignCliTest.run("health", "--url", "http://127.0.0.1:" + port + "/healthz/nope");
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).contains("answered HTTP 404 instead of 200");
        }
    }

    @Test
    void aUrlThatIsNotHttpIsAUsageError() {
        CountersignCliTest.Run r = CountersignCliTest.run("health", "--url", "ftp://example.com/healthz");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("not an http URL with a host");
    }
}
