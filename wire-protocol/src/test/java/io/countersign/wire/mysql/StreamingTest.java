package io.countersign.wire.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.testing.MariaDbDatabase;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.util.ResourceLeakDetector;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Large results stream through with backpressure: a slow client pauses the backend instead of filling memory. */
class StreamingTest {

    @RegisterExtension
    static LeakWatch leaks = new LeakWatch();
    @RegisterExtension
    static MariaDbDatabase db = new MariaDbDatabase();

    static ProxyFixture proxy;

    static ResourceLeakDetector.Level leakLevel;

    @BeforeAll
    static void start() throws Exception {
        // PARANOID records a stack trace on every buffer access: over a million rows that alone takes
        // minutes. This class checks throughput and memory; leak detection stays on, sampled (SIMPLE),
        // and every other class runs at PARANOID over the same code paths.
        leakLevel = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.SIMPLE);
        proxy = new ProxyFixture(db);
    }

    @AfterAll
    static void stop() {
        proxy.close();
        ResourceLeakDetector.setLevel(leakLevel);
    }

    @Test
    void millionRowsStreamWithFlatProxyMemory() throws Exception {
        try (Connection c = proxy.connectorJ("");
             Statement s = c.createStatement(ResultSet.TYPE_FORWARD_ONLY, ResultSet.CONCUR_READ_ONLY)) {
            s.setFetchSize(Integer.MIN_VALUE); // Connector/J streaming: rows are read as they arrive
            long count = 0;
            long sum = 0;
            long peak = 0;
            try (ResultSet rs = s.executeQuery("SELECT seq, REPEAT('r', 100) FROM seq_1_to_1000000")) {
                while (rs.next()) {
                    count++;
                    sum += rs.getLong(1);
                    if (count == 1000) {
                        // stall: without backpressure the whole ~110 MB result would pile up in the proxy
                        Thread.sleep(1500);
                        peak = Math.max(peak, usedDirect());
                    }
                    if (count % 100_000 == 0) {
                        peak = Math.max(peak, usedDirect());
                    }
                }
            }
            assertThat(count).isEqualTo(1_000_000);
            assertThat(sum).isEqualTo(500_000_500_000L);
            assertThat(peak).as("proxy direct memory while the client stalls").isLessThan(48L * 1024 * 1024);
        }
    }

    @Test
    void preparedPointSelectsAnswerAsDirectly() throws Exception {
        // Speed is proved in bench/sysbench.sh; here the binary-protocol round trips must agree.
        List<Long> direct = pointSelects(proxy.directConnectorJ(""));
        List<Long> proxied = pointSelects(proxy.connectorJ(""));
        assertThat(proxied).hasSize(3000).isEqualTo(direct);
    }

    private static List<Long> pointSelects(Connection c) throws Exception {
        List<Long> doubled = new ArrayList<>();
        try (c; var ps = c.prepareStatement("SELECT seq, seq * 2 FROM seq_1_to_100000 WHERE seq = ?")) {
            for (int i = 1; i <= 3000; i++) {
                ps.setInt(1, i);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    doubled.add(rs.getLong(2));
                    assertThat(rs.next()).isFalse();
                }
            }
        }
        return doubled;
    }

    private static long usedDirect() {
        return ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric().usedDirectMemory();
    }
}
