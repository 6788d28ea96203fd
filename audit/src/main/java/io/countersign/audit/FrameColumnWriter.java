package io.countersign.audit;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * Writes one record's canonical bytes (a journal frame's payload, see {@link RecordCodec}) straight into
 * the leaf column writers of its Parquet file, one call per value with the levels the layout implies, with
 * no record objects and no Strings in between: a string's UTF-8 bytes in the frame are the bytes Parquet
 * stores. The canonical field order is the schema's leaf order after the four envelope columns
 * ({@link ParquetLayout}), so the walk below advances one column per field.
 *
 * <p>Values are handed over as byte ranges of the frame: the column writers copy whatever they keep
 * (dictionary entries, min/max) and encode the rest at once, so the caller may overwrite the frame after.
 * A frame that does not decode as a record of its type fails with {@link IllegalArgumentException}, as
 * {@link RecordCodec#decode} would.
 */
final class FrameColumnWriter {
    private static final byte VERSION = 1;
    /** Offsets in the canonical form: version, seq, prev_hash, type tag, then the fields. */
    static final int SEQ_AT = 1;
    static final int PREV_HASH_AT = 9;
    static final int TYPE_AT = PREV_HASH_AT + Hashes.LENGTH;
    static final int FIELDS_AT = TYPE_AT + 1;
    static final long MICROS_PER_DAY = 86_400_000_000L;

    // Leaf definition levels: an optional top-level value is 1 when present; a list element is 2 when
    // present, 1 when the element (or a struct's optional field) is null; 0 for an empty list.
    private static final int PRESENT = 1;
    private static final int IN_LIST = 2;

    private static final EnumNames PROTOCOLS = new EnumNames(Protocol.class);
    private static final EnumNames DECISION_KINDS = new EnumNames(Decision.Kind.class);
    private static final EnumNames APPROVAL_EVENTS = new EnumNames(ApprovalRecord.Event.class);
    private static final EnumNames CHANNELS = new EnumNames(ApprovalRecord.Channel.class);
    private static final EnumNames ADMIN_EVENTS = new EnumNames(AdminRecord.Event.class);

    private final byte[] instanceId;
    private final MessageDigest sha256 = Hashes.sha256();
    private final byte[] hash = new byte[Hashes.LENGTH];
    private final byte[] prevHex = new byte[2 * Hashes.LENGTH];
    private final byte[] hashHex = new byte[2 * Hashes.LENGTH];

    private byte[] b;
    private int pos;
    private int end;
    private LeafColumnWriter[] cols;
    private int col;

    FrameColumnWriter(String instanceId) {
        this.instanceId = instanceId.getBytes(StandardCharsets.UTF_8);
    }

    static long seq(byte[] frame, int off) {
        return longAt(frame, off + SEQ_AT);
    }

    static RecordType type(byte[] frame, int off) {
        return RecordType.ofTag(frame[off + TYPE_AT]);
    }

    /** The record's event time in epoch microseconds: the first field of every type, never null. */
    static long atMicros(byte[] frame, int off, int len) {
        if (len < FIELDS_AT + 9 || frame[off + FIELDS_AT] == 0) {
            throw new IllegalArgumentException("audit record " + seq(frame, off) + " has no event time");
        }
        return longAt(frame, off + FIELDS_AT + 1);
    }

    /** SHA-256 of the record's canonical bytes, as the chain defines it; valid until the next call. */
    byte[] hash(byte[] frame, int off, int len) {
        sha256.update(frame, off, len);
        try {
            sha256.digest(hash, 0, hash.length);
        } catch (java.security.DigestException e) {
            throw new IllegalStateException(e);
        }
        return hash;
    }

    /**
     * Writes the record in {@code frame[off, off + len)}, whose hash {@link #hash} just returned, as one row
     * of {@code columns} (the leaf writers of a file of its type). The caller ends the row.
     */
    void write(byte[] frame, int off, int len, byte[] recordHash, LeafColumnWriter[] columns) {
        b = frame;
        pos = off;
        end = off + len;
        cols = columns;
        col = 0;
        need(FIELDS_AT);
        if (b[pos] != VERSION) {
            throw new IllegalArgumentException("audit record format version " + b[pos] + " is not supported (expected " + VERSION + ")");
        }
        cols[col++].write(longAt(b, pos + SEQ_AT), 0, 0);
        cols[col++].write(instanceId, 0, instanceId.length, 0, 0);
        cols[col++].write(hex(b, pos + PREV_HASH_AT, prevHex), 0, prevHex.length, 0, 0);
        cols[col++].write(hex(recordHash, 0, hashHex), 0, hashHex.length, 0, 0);
        RecordType type = RecordType.ofTag(b[pos + TYPE_AT]);
        pos += FIELDS_AT;
        switch (type) {
            case STATEMENT -> statement();
            case APPROVAL -> approval();
            case ADMIN -> admin();
        }
        if (pos != end) {
            throw new IllegalArgumentException("audit record has " + (end - pos) + " trailing bytes");
        }
        if (col != cols.length) {
            throw new IllegalStateException("wrote " + col + " of " + cols.length + " columns of a " + type + " record");
        }
        b = null;
        cols = null;
    }

    // The three walks follow RecordCodec's writeStatement / writeApproval / writeAdmin field by field.

    private void statement() {
        requiredTime("started");
        optionalLong(); // ended
        optionalStr(); // agent
        optionalStr(); // owner
        optionalStr(); // session_id
        optionalStr(); // client_address
        requiredEnum(PROTOCOLS, "protocol");
        optionalStr(); // database
        requiredStr("sql");
        optionalStr(); // fingerprint
        strList(true); // parameters: null elements are SQL NULLs
        strList(false); // statement_kinds
        categories();
        strList(false); // tables_read
        strList(false); // tables_written
        strList(false); // columns_read
        strList(false); // columns_written
        if (readBoolean()) {
            requiredEnum(DECISION_KINDS, "decision");
            optionalStr(); // decision_rule
            optionalStr(); // approved_by
            optionalStr(); // request_id
            optionalStr(); // decision_reason
        } else {
            for (int i = 0; i < 5; i++) {
                cols[col++].writeNull(0, 0);
            }
        }
        optionalLong(); // rows_returned
        optionalLong(); // rows_affected
        optionalLong(); // bytes_sent
        optionalStr(); // error_code
        optionalStr(); // error_message
        optionalLong(); // duration_us
        strList(false); // result_columns
        strList(false); // row_keys
        cols[col++].write(readBoolean(), 0, 0); // row_keys_capped
        optionalStr(); // settled_by
        trailingOptionalStr(); // run_as_role, encoded only when set
    }

    private void approval() {
        requiredTime("occurred_at");
        requiredEnum(APPROVAL_EVENTS, "event");
        requiredStr("request_id");
        optionalStr(); // reviewer
        optionalEnum(CHANNELS); // channel
        optionalStr(); // verdict
        optionalStr(); // comment
        optionalStr(); // tier
        optionalStr(); // agent
        optionalStr(); // owner
        optionalStr(); // sql
        trailingOptionalStr(); // reviewer_auth, encoded only when set
    }

    private void admin() {
        requiredTime("occurred_at");
        requiredEnum(ADMIN_EVENTS, "event");
        optionalStr(); // actor
        optionalStr(); // detail
        optionalStr(); // policy_hash
        int n = count();
        LeafColumnWriter path = cols[col];
        LeafColumnWriter firstSeq = cols[col + 1];
        LeafColumnWriter lastSeq = cols[col + 2];
        LeafColumnWriter recordCount = cols[col + 3];
        LeafColumnWriter sha = cols[col + 4];
        col += 5;
        if (n == 0) {
            path.writeNull(0, 0);
            firstSeq.writeNull(0, 0);
            lastSeq.writeNull(0, 0);
            recordCount.writeNull(0, 0);
            sha.writeNull(0, 0);
        }
        // deleted_files.list.element.{path, sha256} are optional (max definition 2), the seq fields required (max 1)
        for (int i = 0; i < n; i++) {
            int r = i == 0 ? 0 : 1;
            listStr(path, r, false, "deleted file path");
            firstSeq.write(readLong(), r, 1);
            lastSeq.write(readLong(), r, 1);
            recordCount.write(readLong(), r, 1);
            listStr(sha, r, false, "deleted file sha256");
        }
    }

    private void categories() {
        int n = count();
        LeafColumnWriter category = cols[col];
        LeafColumnWriter reason = cols[col + 1];
        col += 2;
        if (n == 0) {
            category.writeNull(0, 0);
            reason.writeNull(0, 0);
        }
        for (int i = 0; i < n; i++) {
            int r = i == 0 ? 0 : 1;
            listStr(category, r, false, "category");
            listStr(reason, r, true, null);
        }
    }

    /** LIST&lt;STRING&gt;: an empty list is one null at level 0; each element repeats at level 1 after the first. */
    private void strList(boolean nullElements) {
        LeafColumnWriter c = cols[col++];
        int n = count();
        if (n == 0) {
            c.writeNull(0, 0);
            return;
        }
        for (int i = 0; i < n; i++) {
            listStr(c, i == 0 ? 0 : 1, nullElements, "list element");
        }
    }

    private void listStr(LeafColumnWriter c, int r, boolean nullable, String what) {
        int n = readInt();
        if (n < 0) {
            if (!nullable) {
                throw new IllegalArgumentException("audit record has a null " + what);
            }
            c.writeNull(r, IN_LIST - 1);
            return;
        }
        need(n);
        c.write(b, pos, n, r, IN_LIST);
        pos += n;
    }

    private void optionalStr() {
        LeafColumnWriter c = cols[col++];
        int n = readInt();
        if (n < 0) {
            c.writeNull(0, 0);
        } else {
            need(n);
            c.write(b, pos, n, 0, PRESENT);
            pos += n;
        }
    }

    private void requiredStr(String what) {
        int n = readInt();
        if (n < 0) {
            throw new IllegalArgumentException("audit record has no " + what);
        }
        need(n);
        cols[col++].write(b, pos, n, 0, PRESENT);
        pos += n;
    }

    private void trailingOptionalStr() {
        if (pos < end) {
            optionalStr();
        } else {
            cols[col++].writeNull(0, 0);
        }
    }

    private void optionalEnum(EnumNames names) {
        int n = readInt();
        if (n < 0) {
            cols[col++].writeNull(0, 0);
        } else {
            need(n);
            byte[] lower = names.lowerCase(b, pos, n);
            cols[col++].write(lower, 0, lower.length, 0, PRESENT);
            pos += n;
        }
    }

    private void requiredEnum(EnumNames names, String what) {
        if (peekInt() < 0) {
            throw new IllegalArgumentException("audit record has no " + what);
        }
        optionalEnum(names);
    }

    private void optionalLong() {
        LeafColumnWriter c = cols[col++];
        if (readBoolean()) {
            c.write(readLong(), 0, PRESENT);
        } else {
            c.writeNull(0, 0);
        }
    }

    private void requiredTime(String what) {
        need(1);
        if (b[pos] == 0) {
            throw new IllegalArgumentException("audit record has no " + what);
        }
        optionalLong();
    }

    private int count() {
        int n = readInt();
        if (n < 0) {
            throw new IllegalArgumentException("audit record has a negative list size " + n);
        }
        return n;
    }

    private void need(int n) {
        if (end - pos < n) {
            throw new IllegalArgumentException("audit record is truncated: needs " + n + " more bytes at offset " + pos);
        }
    }

    private boolean readBoolean() {
        need(1);
        return b[pos++] != 0;
    }

    private int peekInt() {
        need(4);
        return intAt(b, pos);
    }

    private int readInt() {
        int v = peekInt();
        pos += 4;
        return v;
    }

    private long readLong() {
        need(8);
        long v = longAt(b, pos);
        pos += 8;
        return v;
    }

    private static int intAt(byte[] b, int at) {
        return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
    }

    private static long longAt(byte[] b, int at) {
        return ((long) intAt(b, at) << 32) | (intAt(b, at + 4) & 0xffffffffL);
    }

    /** The two lower-case hex digits of each byte value, as one big-endian char: one store per byte. */
    private static final short[] HEX_PAIRS = new short[256];
    private static final java.lang.invoke.VarHandle SHORT_BE =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(short[].class, java.nio.ByteOrder.BIG_ENDIAN);

    static {
        byte[] digits = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
        for (int v = 0; v < 256; v++) {
            HEX_PAIRS[v] = (short) (digits[v >> 4] << 8 | digits[v & 0xf]);
        }
    }

    /** Lower-case hex of a hash into {@code out}. */
    private static byte[] hex(byte[] from, int at, byte[] out) {
        for (int i = 0; i < Hashes.LENGTH; i++) {
            SHORT_BE.set(out, 2 * i, HEX_PAIRS[from[at + i] & 0xff]);
        }
        return out;
    }

    /** An enum's constant names as the codec writes them (upper case) and as Parquet stores them (lower case). */
    private static final class EnumNames {
        private final String type;
        private final byte[][] names;
        private final byte[][] lower;

        EnumNames(Class<? extends Enum<?>> type) {
            this.type = type.getSimpleName();
            Enum<?>[] constants = type.getEnumConstants();
            names = new byte[constants.length][];
            lower = new byte[constants.length][];
            for (int i = 0; i < constants.length; i++) {
                names[i] = constants[i].name().getBytes(StandardCharsets.US_ASCII);
                lower[i] = ParquetLayout.lower(constants[i]).getBytes(StandardCharsets.US_ASCII);
            }
        }

        byte[] lowerCase(byte[] b, int at, int n) {
            for (int i = 0; i < names.length; i++) {
                if (Arrays.equals(b, at, at + n, names[i], 0, names[i].length)) {
                    return lower[i];
                }
            }
            throw new IllegalArgumentException("audit record has an unknown " + type + " '" + new String(b, at, n, StandardCharsets.UTF_8) + "'");
        }
    }
}
