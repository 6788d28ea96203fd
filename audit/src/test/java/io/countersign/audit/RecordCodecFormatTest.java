package io.countersign.audit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The canonical bytes are what every journal frame holds and every chain hash covers: the reused, growing
 * encoder (with its ASCII shortcut) must write exactly the format-1 bytes, or trails written before it would
 * no longer verify. The expected bytes are spelled out here with {@link DataOutputStream}, field by field.
 */
class RecordCodecFormatTest {

    private static final byte[] PREV = Hashes.genesis("codec-format-test");

    @Test
    void adminRecordBytesAreFormatOneForAsciiNonAsciiAndNullStrings() throws IOException {
        Instant at = Instant.parse("2026-11-28T07:00:00.123456Z");
        AdminRecord r = new AdminRecord(at, AdminRecord.Event.RETENTION, "opérateur ✓", null, "abc",
                List.of(new AdminRecord.DeletedFile("statements/dt=2026-01-01/a.parquet", 1, 9, 9, "ff00")));

        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(expected);
        out.writeByte(1);
        out.writeLong(42);
        out.write(PREV);
        out.writeByte(RecordType.ADMIN.tag());
        out.writeBoolean(true);
        out.writeLong(RecordCodec.micros(at));
        str(out, "RETENTION");
        str(out, "opérateur ✓");
        out.writeInt(-1); // detail: null
        str(out, "abc");
        out.writeInt(1);
        str(out, "statements/dt=2026-01-01/a.parquet");
        out.writeLong(1);
        out.writeLong(9);
        out.writeLong(9);
        str(out, "ff00");
        out.flush();

        assertArrayEquals(expected.toByteArray(), RecordCodec.encode(42, PREV, r));
    }

    @Test
    void reusedEncoderGivesTheSameBytesAsAFreshOneAfterLargerAndNonAsciiRecords() {
        RecordCodec.Out reused = new RecordCodec.Out(64);
        Instant at = Instant.parse("2026-11-28T07:00:00Z");
        List<AuditRecord> records = List.of(
                AdminRecord.of(at, AdminRecord.Event.START, "x".repeat(10_000), "first, large"),
                AdminRecord.of(at, AdminRecord.Event.STOP, "ünïcode", "ascii after a larger record"),
                AdminRecord.of(at, AdminRecord.Event.START, null, "short"));
        long seq = 1;
        for (AuditRecord r : records) {
            int n = reused.encode(seq, PREV, r);
            byte[] fresh = RecordCodec.encode(seq, PREV, r);
            assertEquals(fresh.length, n, "length of record " + seq);
            assertArrayEquals(fresh, java.util.Arrays.copyOf(reused.buffer(), n), "bytes of record " + seq);
            assertEquals(r, RecordCodec.decode(fresh).record(), "round trip of record " + seq);
            seq++;
        }
    }

    private static void str(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }
}
