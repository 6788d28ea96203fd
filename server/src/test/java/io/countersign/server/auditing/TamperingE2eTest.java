package io.countersign.server.auditing;

import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.server.NettyLeakWatch;
import io.countersign.server.runtime.CountersignServer;
import io.countersign.testing.PostgresDatabase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A trail written by the real proxy, then changed behind its back: {@code countersign audit verify}
 * exits 1 and names the file that was altered or removed. Each case works on its own copy.
 */
@ExtendWith(NettyLeakWatch.class)
class TamperingE2eTest {

    @RegisterExtension
    static PostgresDatabase db = new PostgresDatabase();

    @TempDir
    static Path dir;

    static Path original;

    @BeforeAll
    static void writeATrailThroughTheProxy() throws Exception {
        AuditE2e.schema(db);
        original = dir.resolve("audit");
        try (CountersignServer server = AuditE2e.start(AuditE2e.config(dir, db, original, ""));
             Connection c = AuditE2e.bot(server); Statement s = c.createStatement()) {
            for (int i = 1; i <= 20; i++) {
                s.execute("SELECT label FROM items WHERE id = " + i);
            }
        }
        AuditE2e.assertVerifies(original);
    }

    static Path copy(String name) throws IOException {
        Path target = dir.resolve(name);
        try (Stream<Path> files = Files.walk(original)) {
            for (Path p : files.sorted().toList()) {
                Path to = target.resolve(original.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(to);
                } else if (!p.getFileName().toString().endsWith(".lock")) {
                    Files.copy(p, to);
                }
            }
        }
        return target;
    }

    static Path statementsFile(Path audit) throws IOException {
        try (Stream<Path> files = Files.walk(audit.resolve("statements"))) {
            List<Path> parquet = files.filter(f -> f.toString().endsWith(".parquet")).sorted(Comparator.naturalOrder()).toList();
            assertThat(parquet).as("statement files").isNotEmpty();
            return parquet.getFirst();
        }
    }

    @Test
    void aFlippedByteInAParquetFileIsCaughtAndTheFileNamed() throws Exception {
        Path audit = copy("flipped");
        Path file = statementsFile(audit);
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(file, bytes);

        AuditE2e.Cli v = AuditE2e.cli("audit", "verify", audit.toString());
        assertThat(v.exit()).as(v.out() + v.err()).isEqualTo(1);
        assertThat(v.out()).contains("result: FAILED").contains("PROBLEM CHANGED").contains(file.getFileName().toString());
    }

    @Test
    void aDeletedParquetFileIsCaughtAndNamed() throws Exception {
        Path audit = copy("deleted");
        Path file = statementsFile(audit);
        Files.delete(file);

        AuditE2e.Cli v = AuditE2e.cli("audit", "verify", audit.toString());
        assertThat(v.exit()).as(v.out() + v.err()).isEqualTo(1);
        assertThat(v.out()).contains("result: FAILED").contains("PROBLEM MISSING").contains(file.getFileName().toString());
    }

    @Test
    void theUntouchedCopyStillVerifies() throws Exception {
        AuditE2e.assertVerifies(copy("untouched"));
    }
}
