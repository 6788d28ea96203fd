package io.countersign.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The staging ring on its own: order across wraps, and what a start after a crash takes from it. */
class StagingRingTest {
    @TempDir
    Path dir;

    /** A chain of canonical records from seq 1, and the hash after each (hashes.get(i) follows records.get(i)). */
    private final List<byte[]> records = new ArrayList<>();
    private final List<byte[]> hashes = new ArrayList<>();

    private void chain(int n) {
        byte[] prev = Hashes.genesis("ring-test");
        for (int i = 0; i < n; i++) {
            // varied sizes, so frames end at every kind of offset before a wrap
            StatementRecord r = StatementRecord.builder(SampleRecords.statement(i, Instant.parse("2026-12-07T10:00:00Z")))
                    .sql("SELECT " + "x".repeat(i * 37 % 300)).build();
            byte[] canonical = RecordCodec.encode(i + 1, prev, r);
            records.add(canonical);
            prev = Hashes.sha256(canonical);
            hashes.add(prev);
        }
    }

    private static byte[] drainAll(StagingRing ring, long nextSeq) {
        StagingRing.Span span = ring.undrained();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (span == null) {
            return out.toByteArray();
        }
        copy(ring.view(span.from(), span.to()), out);
        if (span.wrappedTo() >= 0) {
            copy(ring.view(StagingRing.HEADER, span.wrappedTo()), out);
        }
        assertThat(out.size()).isEqualTo(span.bytes());
        ring.drained(span, nextSeq);
        return out.toByteArray();
    }

    private static void copy(ByteBuffer b, ByteArrayOutputStream out) {
        byte[] a = new byte[b.remaining()];
        b.get(a);
        out.writeBytes(a);
    }

    /** Splits journal-form frames and checks each one's CRC; returns the canonical records. */
    private static List<byte[]> frames(byte[] bytes) {
        List<byte[]> out = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            int length = b.getInt();
            int crc = b.getInt();
            byte[] canonical = new byte[length];
            b.get(canonical);
            java.util.zip.CRC32C c = new java.util.zip.CRC32C();
            c.update(canonical);
            assertThat((int) c.getValue()).as("frame CRC").isEqualTo(crc);
            out.add(canonical);
        }
        return out;
    }

    @Test
    void framesComeOutInTheirOrderAcrossManyWrapsAndAFullRingRefusesRatherThanOverwrites() throws Exception {
        chain(400);
        List<byte[]> drained = new ArrayList<>();
        int refusals = 0;
        try (StagingRing ring = StagingRing.create(dir.resolve("a.ring"), 8192, 1, null)) {
            int next = 0;
            while (next < records.size()) {
                byte[] r = records.get(next);
                if (ring.put(r, r.length)) {
                    next++;
                    if (next % 23 == 0) {
                        drained.addAll(frames(drainAll(ring, next + 1))); // the journal thread takes a batch now and then
                    }
                } else {
                    refusals++; // full: the caller would queue it; here the journal thread drains first
                    drained.addAll(frames(drainAll(ring, next + 1)));
                }
            }
            drained.addAll(frames(drainAll(ring, next + 1)));
            assertThat(ring.isEmpty()).isTrue();
        }
        assertThat(refusals).as("an 8 KiB ring fills up").isPositive();
        assertThat(drained).hasSize(records.size());
        for (int i = 0; i < records.size(); i++) {
            assertThat(drained.get(i)).as("record " + (i + 1)).isEqualTo(records.get(i));
        }
    }

    @Test
    void aStartAfterACrashTakesExactlyTheUndrainedFramesThatContinueTheJournal() throws Exception {
        chain(60);
        Path file = dir.resolve("b.ring");
        int journalled = 0;
        try (StagingRing ring = StagingRing.create(file, 8192, 1, null)) {
            // several laps: the journal takes everything but the last 10 records, which stay staged
            for (int i = 0; i < 50; i++) {
                while (!ring.put(records.get(i), records.get(i).length)) {
                    journalled += frames(drainAll(ring, i + 1)).size();
                }
            }
            journalled += frames(drainAll(ring, 51)).size();
            for (int i = 50; i < 60; i++) {
                assertThat(ring.put(records.get(i), records.get(i).length)).isTrue();
            }
            // the process dies here: no drain, no close
        }
        assertThat(journalled).isEqualTo(50);

        StagingRing.Recovered r = StagingRing.recover(file, 51, hashes.get(49), null);
        assertThat(r.records()).hasSize(10);
        for (int i = 0; i < 10; i++) {
            assertThat(r.records().get(i)).isEqualTo(records.get(50 + i));
        }
        assertThat(r.notes()).anySatisfy(n -> assertThat(n).contains("recovered 10 acknowledged record(s)"));

        // killed after a batch reached the journal but before the ring's header said so: no duplicates
        assertThat(StagingRing.recover(file, 54, hashes.get(52), null).records()).hasSize(7)
                .first().isEqualTo(records.get(53));
        // a journal that does not end where the ring continues (moved, restored from elsewhere): nothing is taken
        StagingRing.Recovered foreign = StagingRing.recover(file, 51, hashes.get(10), null);
        assertThat(foreign.records()).isEmpty();
        assertThat(foreign.notes()).anySatisfy(n -> assertThat(n).contains("does not continue the journal"));

        // a torn copy of the last frame (its CRC fails) ends the walk before it
        corruptLastByteOfFrame(file, records.get(59));
        assertThat(StagingRing.recover(file, 51, hashes.get(49), null).records()).hasSize(9);
    }

    @Test
    void theRingIsItsOwnersAloneAndNeverFollowsALinkOrTakesAnotherUsersFile() throws Exception {
        Path file = dir.resolve("d.ring");
        java.nio.file.attribute.UserPrincipal me = java.nio.file.Files.getOwner(dir);
        try (StagingRing ring = StagingRing.create(file, 8192, 1, me)) {
            assertThat(java.nio.file.Files.getPosixFilePermissions(file))
                    .as("SQL text and parameters: readable by the owner only")
                    .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        }
        Path victim = dir.resolve("victim");
        java.nio.file.Files.writeString(victim, "keep me");
        Path link = java.nio.file.Files.createSymbolicLink(dir.resolve("e.ring"), victim);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> StagingRing.create(link, 8192, 1, me)).isInstanceOf(java.io.IOException.class);
        assertThat(java.nio.file.Files.readString(victim)).as("a link planted at the ring's name is not followed").isEqualTo("keep me");

        java.nio.file.attribute.UserPrincipal nobody = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> StagingRing.create(dir.resolve("f.ring"), 8192, 1, nobody))
                .hasMessageContaining("belongs to").hasMessageContaining("staging-dir");
        assertThat(StagingRing.recover(file, 1, Hashes.genesis("x"), nobody).notes())
                .anySatisfy(n -> assertThat(n).startsWith("ignored: ").contains("belongs to"));
    }

    @Test
    void aFileThatIsNoRingIsIgnoredWithANote() throws Exception {
        Path file = dir.resolve("c.ring");
        java.nio.file.Files.write(file, new byte[8192]);
        StagingRing.Recovered r = StagingRing.recover(file, 1, Hashes.genesis("x"), null);
        assertThat(r.records()).isEmpty();
        assertThat(r.notes()).anySatisfy(n -> assertThat(n).contains("not a staging ring"));
    }

    private static void corruptLastByteOfFrame(Path file, byte[] canonical) throws Exception {
        byte[] all = java.nio.file.Files.readAllBytes(file);
        int at = indexOf(all, canonical);
        assertThat(at).isPositive();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {(byte) (canonical[canonical.length - 1] ^ 0x5a)}), at + canonical.length - 1);
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
