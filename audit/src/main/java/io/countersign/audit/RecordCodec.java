package io.countersign.audit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The canonical byte form of a chained record: what the journal stores and what the hash covers.
 * Fixed field order, explicit null markers, timestamps as epoch microseconds, so that encoding the same
 * record twice (once when written, once after reading it back from Parquet) gives identical bytes.
 */
final class RecordCodec {
    private static final byte VERSION = 1;

    private RecordCodec() {}

    static byte[] encode(long seq, byte[] prevHash, AuditRecord record) {
        Out out = new Out(256);
        out.encode(seq, prevHash, record);
        return out.toByteArray();
    }

    /**
     * A reusable big-endian byte sink (the layout {@code DataOutputStream} would write). The journal thread
     * keeps one and encodes every record into the same array, so a record costs no stream objects and no
     * per-record buffer growth; {@link #buffer()} is valid until the next {@link #encode}.
     */
    static final class Out {
        private byte[] buf;
        private int size;

        Out(int initialCapacity) {
            buf = new byte[Math.max(64, initialCapacity)];
        }

        /** Encodes one record, replacing what the buffer held; returns its length. */
        int encode(long seq, byte[] prevHash, AuditRecord record) {
            if (prevHash.length != Hashes.LENGTH) {
                throw new IllegalArgumentException("prevHash must be 32 bytes, got " + prevHash.length);
            }
            size = 0;
            writeByte(VERSION);
            writeLong(seq);
            write(prevHash);
            writeByte(record.type().tag());
            switch (record) {
                case StatementRecord s -> writeStatement(this, s);
                case ApprovalRecord a -> writeApproval(this, a);
                case AdminRecord m -> writeAdmin(this, m);
            }
            return size;
        }

        byte[] buffer() {
            return buf;
        }

        /** Lets go of a buffer that one very large record grew, so it does not stay on the heap. */
        void shrink() {
            if (buf.length > 1 << 20) {
                buf = new byte[4096];
            }
        }

        int size() {
            return size;
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buf, size);
        }

        private void ensure(int more) {
            if (buf.length - size < more) {
                long want = Math.max((long) buf.length * 2, (long) size + more);
                if (want > Integer.MAX_VALUE - 16) {
                    throw new IllegalArgumentException("audit record is larger than 2 GiB");
                }
                buf = Arrays.copyOf(buf, (int) want);
            }
        }

        void writeByte(int v) {
            ensure(1);
            buf[size++] = (byte) v;
        }

        void writeBoolean(boolean v) {
            writeByte(v ? 1 : 0);
        }

        void writeInt(int v) {
            ensure(4);
            buf[size] = (byte) (v >>> 24);
            buf[size + 1] = (byte) (v >>> 16);
            buf[size + 2] = (byte) (v >>> 8);
            buf[size + 3] = (byte) v;
            size += 4;
        }

        void writeLong(long v) {
            writeInt((int) (v >>> 32));
            writeInt((int) v);
        }

        /**
         * Writes an all-ASCII string as its length and bytes (its UTF-8 form) without an intermediate array;
         * false, with nothing written, when the string holds any other character.
         */
        boolean writeAscii(String s) {
            int n = s.length();
            ensure(4 + n);
            int at = size + 4;
            for (int i = 0; i < n; i++) {
                char ch = s.charAt(i);
                if (ch >= 0x80) {
                    return false;
                }
                buf[at + i] = (byte) ch;
            }
            writeInt(n);
            size += n;
            return true;
        }

        void write(byte[] b) {
            ensure(b.length);
            System.arraycopy(b, 0, buf, size, b.length);
            size += b.length;
        }
    }

    static ChainedRecord decode(byte[] canonical) {
        In in = new In(canonical);
        try {
            byte version = in.readByte();
            if (version != VERSION) {
                throw new IllegalArgumentException("audit record format version " + version + " is not supported (expected " + VERSION + ")");
            }
            long seq = in.readLong();
            byte[] prev = new byte[Hashes.LENGTH];
            in.readFully(prev);
            AuditRecord record = switch (RecordType.ofTag(in.readByte())) {
                case STATEMENT -> readStatement(in);
                case APPROVAL -> readApproval(in);
                case ADMIN -> readAdmin(in);
            };
            if (in.available() != 0) {
                throw new IllegalArgumentException("audit record has " + in.available() + " trailing bytes");
            }
            return new ChainedRecord(seq, prev, Hashes.sha256(canonical), record);
        } catch (IOException e) {
            throw new IllegalArgumentException("audit record is truncated: " + e, e);
        }
    }

    private static void writeStatement(Out out, StatementRecord s) {
        instant(out, s.started());
        instant(out, s.ended());
        str(out, s.agent());
        str(out, s.owner());
        str(out, s.sessionId());
        str(out, s.clientAddress());
        str(out, s.protocol().name());
        str(out, s.database());
        str(out, s.sql());
        str(out, s.fingerprint());
        strings(out, s.parameters());
        strings(out, s.statementKinds());
        out.writeInt(s.categories().size());
        for (CategoryReason c : s.categories()) {
            str(out, c.category());
            str(out, c.reason());
        }
        strings(out, s.tablesRead());
        strings(out, s.tablesWritten());
        strings(out, s.columnsRead());
        strings(out, s.columnsWritten());
        Decision d = s.decision();
        out.writeBoolean(d != null);
        if (d != null) {
            str(out, d.kind().name());
            str(out, d.rule());
            str(out, d.approvedBy());
            str(out, d.requestId());
            str(out, d.reason());
        }
        nlong(out, s.rowsReturned());
        nlong(out, s.rowsAffected());
        nlong(out, s.bytesSent());
        str(out, s.errorCode());
        str(out, s.errorMessage());
        out.writeBoolean(s.duration() != null); // as nlong, unboxed
        if (s.duration() != null) {
            out.writeLong(micros(s.duration()));
        }
        strings(out, s.resultColumns());
        strings(out, s.rowKeys());
        out.writeBoolean(s.rowKeysCapped());
        str(out, s.settledBy());
        if (s.runAsRole() != null) {
            // written only when set, so records of statements without run-as encode (and hash) as before
            str(out, s.runAsRole());
        }
    }

    private static StatementRecord readStatement(In in) throws IOException {
        Instant started = instant(in);
        Instant ended = instant(in);
        String agent = str(in);
        String owner = str(in);
        String session = str(in);
        String client = str(in);
        Protocol protocol = Protocol.valueOf(str(in));
        String database = str(in);
        String sql = str(in);
        String fingerprint = str(in);
        List<String> parameters = strings(in);
        List<String> kinds = strings(in);
        int nc = in.readInt();
        List<CategoryReason> categories = new ArrayList<>(nc);
        for (int i = 0; i < nc; i++) {
            categories.add(new CategoryReason(str(in), str(in)));
        }
        List<String> tr = strings(in);
        List<String> tw = strings(in);
        List<String> cr = strings(in);
        List<String> cw = strings(in);
        Decision decision = null;
        if (in.readBoolean()) {
            decision = new Decision(Decision.Kind.valueOf(str(in)), str(in), str(in), str(in), str(in));
        }
        Long rowsReturned = nlong(in);
        Long rowsAffected = nlong(in);
        Long bytes = nlong(in);
        String errorCode = str(in);
        String errorMessage = str(in);
        Long durationMicros = nlong(in);
        List<String> resultColumns = strings(in);
        List<String> rowKeys = strings(in);
        boolean capped = in.readBoolean();
        String settledBy = str(in);
        String runAsRole = in.available() > 0 ? str(in) : null;
        return new StatementRecord(started, ended, agent, owner, session, client, protocol, database, sql, fingerprint,
                parameters, kinds, categories, tr, tw, cr, cw, decision, rowsReturned, rowsAffected, bytes, errorCode,
                errorMessage, durationMicros == null ? null : Duration.ofNanos(durationMicros * 1000), resultColumns,
                rowKeys, capped, settledBy, runAsRole);
    }

    private static void writeApproval(Out out, ApprovalRecord a) {
        instant(out, a.at());
        str(out, a.event().name());
        str(out, a.requestId());
        str(out, a.reviewer());
        str(out, a.channel() == null ? null : a.channel().name());
        str(out, a.verdict());
        str(out, a.comment());
        str(out, a.tier());
        str(out, a.agent());
        str(out, a.owner());
        str(out, a.sql());
        if (a.reviewerAuth() != null) {
            // written only when set, so records without it encode (and hash) as before
            str(out, a.reviewerAuth());
        }
    }

    private static ApprovalRecord readApproval(In in) throws IOException {
        Instant at = instant(in);
        ApprovalRecord.Event event = ApprovalRecord.Event.valueOf(str(in));
        String requestId = str(in);
        String reviewer = str(in);
        String channel = str(in);
        String verdict = str(in);
        String comment = str(in);
        String tier = str(in);
        String agent = str(in);
        String owner = str(in);
        String sql = str(in);
        String reviewerAuth = in.available() > 0 ? str(in) : null;
        return new ApprovalRecord(at, event, requestId, reviewer,
                channel == null ? null : ApprovalRecord.Channel.valueOf(channel), verdict, comment, tier, agent, owner, sql,
                reviewerAuth);
    }

    private static void writeAdmin(Out out, AdminRecord m) {
        instant(out, m.at());
        str(out, m.event().name());
        str(out, m.actor());
        str(out, m.detail());
        str(out, m.policyHash());
        out.writeInt(m.deletedFiles().size());
        for (AdminRecord.DeletedFile f : m.deletedFiles()) {
            str(out, f.path());
            out.writeLong(f.firstSeq());
            out.writeLong(f.lastSeq());
            out.writeLong(f.recordCount());
            str(out, f.sha256());
        }
    }

    private static AdminRecord readAdmin(In in) throws IOException {
        Instant at = instant(in);
        AdminRecord.Event event = AdminRecord.Event.valueOf(str(in));
        String actor = str(in);
        String detail = str(in);
        String policyHash = str(in);
        int n = in.readInt();
        List<AdminRecord.DeletedFile> files = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            files.add(new AdminRecord.DeletedFile(str(in), in.readLong(), in.readLong(), in.readLong(), str(in)));
        }
        return new AdminRecord(at, event, actor, detail, policyHash, files);
    }

    static long micros(Instant t) {
        return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1000);
    }

    static Instant instantOfMicros(long micros) {
        return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000L);
    }

    static long micros(Duration d) {
        return Math.addExact(Math.multiplyExact(d.getSeconds(), 1_000_000L), d.getNano() / 1000);
    }

    private static void instant(Out out, Instant t) {
        out.writeBoolean(t != null); // the same bytes as nlong, without boxing the micros on every append
        if (t != null) {
            out.writeLong(micros(t));
        }
    }

    private static Instant instant(In in) throws IOException {
        Long m = nlong(in);
        return m == null ? null : instantOfMicros(m);
    }

    private static void nlong(Out out, Long v) {
        out.writeBoolean(v != null);
        if (v != null) {
            out.writeLong(v);
        }
    }

    private static Long nlong(In in) throws IOException {
        return in.readBoolean() ? in.readLong() : null;
    }

    private static void str(Out out, String s) {
        if (s == null) {
            out.writeInt(-1);
            return;
        }
        if (out.writeAscii(s)) {
            return;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String str(In in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            return null;
        }
        return in.readUtf8(n);
    }

    private static void strings(Out out, List<String> list) {
        out.writeInt(list.size());
        for (String s : list) {
            str(out, s);
        }
    }

    private static List<String> strings(In in) throws IOException {
        int n = in.readInt();
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(str(in));
        }
        return out;
    }

    /**
     * Reads the canonical form back: the big-endian layout of {@code DataInputStream}, straight from the
     * array (the Parquet writer decodes every record it converts, so no stream and no per-field copy).
     */
    static final class In {
        private final byte[] b;
        private int pos;

        In(byte[] b) {
            this.b = b;
        }

        private void need(int n) throws IOException {
            if (n < 0 || b.length - pos < n) {
                throw new java.io.EOFException("needs " + n + " more bytes at offset " + pos + " of " + b.length);
            }
        }

        byte readByte() throws IOException {
            need(1);
            return b[pos++];
        }

        boolean readBoolean() throws IOException {
            return readByte() != 0;
        }

        int readInt() throws IOException {
            need(4);
            int v = ((b[pos] & 0xff) << 24) | ((b[pos + 1] & 0xff) << 16) | ((b[pos + 2] & 0xff) << 8) | (b[pos + 3] & 0xff);
            pos += 4;
            return v;
        }

        long readLong() throws IOException {
            return ((long) readInt() << 32) | (readInt() & 0xffffffffL);
        }

        void readFully(byte[] into) throws IOException {
            need(into.length);
            System.arraycopy(b, pos, into, 0, into.length);
            pos += into.length;
        }

        String readUtf8(int n) throws IOException {
            need(n);
            String v = new String(b, pos, n, StandardCharsets.UTF_8);
            pos += n;
            return v;
        }

        int available() {
            return b.length - pos;
        }
    }
}
