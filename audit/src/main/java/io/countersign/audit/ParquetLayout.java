package io.countersign.audit;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.Type;

/**
 * The Parquet schema of each record type, column by column, and the way back from a Parquet row to a
 * record. The envelope columns (seq, instance_id, prev_hash, hash) come first in every file set.
 */
final class ParquetLayout {
    private ParquetLayout() {}

    static List<Column<ChainedRecord>> columns(RecordType type, String instanceId) {
        List<Column<ChainedRecord>> cols = new ArrayList<>();
        cols.add(new Column.Int64<>("seq", true, ChainedRecord::seq));
        cols.add(new Column.ConstantStr<>("instance_id", instanceId));
        cols.add(new Column.HexBytes<>("prev_hash", ChainedRecord::prevHash));
        cols.add(new Column.HexBytes<>("hash", ChainedRecord::hash));
        switch (type) {
            case STATEMENT -> statementColumns(cols);
            case APPROVAL -> approvalColumns(cols);
            case ADMIN -> adminColumns(cols);
        }
        return cols;
    }

    static MessageType schema(RecordType type) {
        List<Type> fields = new ArrayList<>();
        for (Column<ChainedRecord> c : columns(type, "x")) {
            fields.add(c.type());
        }
        return new MessageType("countersign_audit_" + type.directory(), fields);
    }

    /** Enum constants' lower-case names, made once per enum type rather than once per record. */
    private static final ClassValue<String[]> LOWER_NAMES = new ClassValue<>() {
        @Override
        protected String[] computeValue(Class<?> type) {
            Object[] constants = type.getEnumConstants();
            String[] names = new String[constants.length];
            for (int i = 0; i < constants.length; i++) {
                names[i] = ((Enum<?>) constants[i]).name().toLowerCase(java.util.Locale.ROOT);
            }
            return names;
        }
    };

    static String lower(Enum<?> e) {
        return LOWER_NAMES.get(e.getDeclaringClass())[e.ordinal()];
    }

    private static StatementRecord st(ChainedRecord c) {
        return (StatementRecord) c.record();
    }

    private static ApprovalRecord ap(ChainedRecord c) {
        return (ApprovalRecord) c.record();
    }

    private static AdminRecord ad(ChainedRecord c) {
        return (AdminRecord) c.record();
    }

    private static <T> Function<ChainedRecord, String> decision(Function<Decision, String> f) {
        return c -> st(c).decision() == null ? null : f.apply(st(c).decision());
    }

    private static void statementColumns(List<Column<ChainedRecord>> cols) {
        cols.add(new Column.Timestamp<>("started", c -> st(c).started()));
        cols.add(new Column.Timestamp<>("ended", c -> st(c).ended()));
        cols.add(new Column.Str<>("agent", c -> st(c).agent()));
        cols.add(new Column.Str<>("owner", c -> st(c).owner()));
        cols.add(new Column.Str<>("session_id", c -> st(c).sessionId()));
        cols.add(new Column.Str<>("client_address", c -> st(c).clientAddress()));
        cols.add(new Column.Str<>("protocol", c -> lower(st(c).protocol())));
        cols.add(new Column.Str<>("database", c -> st(c).database()));
        cols.add(new Column.Str<>("sql", c -> st(c).sql()));
        cols.add(new Column.Str<>("fingerprint", c -> st(c).fingerprint()));
        cols.add(new Column.StrList<>("parameters", c -> st(c).parameters()));
        cols.add(new Column.StrList<>("statement_kinds", c -> st(c).statementKinds()));
        cols.add(new Column.StructList<ChainedRecord, CategoryReason>("categories", List.of(
                new Column.Str<>("category", CategoryReason::category),
                new Column.Str<>("reason", CategoryReason::reason)), c -> st(c).categories()));
        cols.add(new Column.StrList<>("tables_read", c -> st(c).tablesRead()));
        cols.add(new Column.StrList<>("tables_written", c -> st(c).tablesWritten()));
        cols.add(new Column.StrList<>("columns_read", c -> st(c).columnsRead()));
        cols.add(new Column.StrList<>("columns_written", c -> st(c).columnsWritten()));
        cols.add(new Column.Str<>("decision", decision(d -> lower(d.kind()))));
        cols.add(new Column.Str<>("decision_rule", decision(Decision::rule)));
        cols.add(new Column.Str<>("approved_by", decision(Decision::approvedBy)));
        cols.add(new Column.Str<>("request_id", decision(Decision::requestId)));
        cols.add(new Column.Str<>("decision_reason", decision(Decision::reason)));
        cols.add(new Column.Int64<>("rows_returned", false, c -> st(c).rowsReturned()));
        cols.add(new Column.Int64<>("rows_affected", false, c -> st(c).rowsAffected()));
        cols.add(new Column.Int64<>("bytes_sent", false, c -> st(c).bytesSent()));
        cols.add(new Column.Str<>("error_code", c -> st(c).errorCode()));
        cols.add(new Column.Str<>("error_message", c -> st(c).errorMessage()));
        cols.add(new Column.Int64<>("duration_us", false, c -> st(c).duration() == null ? null : RecordCodec.micros(st(c).duration())));
        cols.add(new Column.StrList<>("result_columns", c -> st(c).resultColumns()));
        cols.add(new Column.StrList<>("row_keys", c -> st(c).rowKeys()));
        cols.add(new Column.Bool<>("row_keys_capped", c -> st(c).rowKeysCapped()));
        cols.add(new Column.Str<>("settled_by", c -> st(c).settledBy()));
        cols.add(new Column.Str<>("run_as_role", c -> st(c).runAsRole()));
    }

    private static void approvalColumns(List<Column<ChainedRecord>> cols) {
        cols.add(new Column.Timestamp<>("occurred_at", c -> ap(c).at()));
        cols.add(new Column.Str<>("event", c -> lower(ap(c).event())));
        cols.add(new Column.Str<>("request_id", c -> ap(c).requestId()));
        cols.add(new Column.Str<>("reviewer", c -> ap(c).reviewer()));
        cols.add(new Column.Str<>("channel", c -> ap(c).channel() == null ? null : lower(ap(c).channel())));
        cols.add(new Column.Str<>("verdict", c -> ap(c).verdict()));
        cols.add(new Column.Str<>("comment", c -> ap(c).comment()));
        cols.add(new Column.Str<>("tier", c -> ap(c).tier()));
        cols.add(new Column.Str<>("agent", c -> ap(c).agent()));
        cols.add(new Column.Str<>("owner", c -> ap(c).owner()));
        cols.add(new Column.Str<>("sql", c -> ap(c).sql()));
        cols.add(new Column.Str<>("reviewer_auth", c -> ap(c).reviewerAuth()));
    }

    private static void adminColumns(List<Column<ChainedRecord>> cols) {
        cols.add(new Column.Timestamp<>("occurred_at", c -> ad(c).at()));
        cols.add(new Column.Str<>("event", c -> lower(ad(c).event())));
        cols.add(new Column.Str<>("actor", c -> ad(c).actor()));
        cols.add(new Column.Str<>("detail", c -> ad(c).detail()));
        cols.add(new Column.Str<>("policy_hash", c -> ad(c).policyHash()));
        cols.add(new Column.StructList<ChainedRecord, AdminRecord.DeletedFile>("deleted_files", List.of(
                new Column.Str<>("path", AdminRecord.DeletedFile::path),
                new Column.Int64<>("first_seq", true, AdminRecord.DeletedFile::firstSeq),
                new Column.Int64<>("last_seq", true, AdminRecord.DeletedFile::lastSeq),
                new Column.Int64<>("record_count", true, AdminRecord.DeletedFile::recordCount),
                new Column.Str<>("sha256", AdminRecord.DeletedFile::sha256)), c -> ad(c).deletedFiles()));
    }

    /** A row read back: the record as the columns say, plus the hashes the row claims. */
    record Row(long seq, String instanceId, String prevHash, String hash, AuditRecord record) {}

    static Row fromGroup(RecordType type, Group g) {
        AuditRecord record = switch (type) {
            case STATEMENT -> statement(g);
            case APPROVAL -> approval(g);
            case ADMIN -> admin(g);
        };
        return new Row(g.getLong("seq", 0), g.getString("instance_id", 0), g.getString("prev_hash", 0),
                g.getString("hash", 0), record);
    }

    private static StatementRecord statement(Group g) {
        Decision decision = null;
        String kind = str(g, "decision");
        if (kind != null) {
            decision = new Decision(Decision.Kind.valueOf(kind.toUpperCase(java.util.Locale.ROOT)), str(g, "decision_rule"),
                    str(g, "approved_by"), str(g, "request_id"), str(g, "decision_reason"));
        }
        List<CategoryReason> categories = new ArrayList<>();
        for (Group e : structs(g, "categories")) {
            categories.add(new CategoryReason(str(e, "category"), str(e, "reason")));
        }
        Long durationUs = lng(g, "duration_us");
        return new StatementRecord(ts(g, "started"), ts(g, "ended"), str(g, "agent"), str(g, "owner"), str(g, "session_id"),
                str(g, "client_address"), Protocol.valueOf(str(g, "protocol").toUpperCase(java.util.Locale.ROOT)),
                str(g, "database"), str(g, "sql"), str(g, "fingerprint"), strs(g, "parameters"), strs(g, "statement_kinds"),
                categories, strs(g, "tables_read"), strs(g, "tables_written"), strs(g, "columns_read"),
                strs(g, "columns_written"), decision, lng(g, "rows_returned"), lng(g, "rows_affected"), lng(g, "bytes_sent"),
                str(g, "error_code"), str(g, "error_message"), durationUs == null ? null : Duration.ofNanos(durationUs * 1000),
                strs(g, "result_columns"), strs(g, "row_keys"), g.getBoolean("row_keys_capped", 0), str(g, "settled_by"),
                g.getType().containsField("run_as_role") ? str(g, "run_as_role") : null);
    }

    private static ApprovalRecord approval(Group g) {
        String channel = str(g, "channel");
        return new ApprovalRecord(ts(g, "occurred_at"), ApprovalRecord.Event.valueOf(str(g, "event").toUpperCase(java.util.Locale.ROOT)),
                str(g, "request_id"), str(g, "reviewer"),
                channel == null ? null : ApprovalRecord.Channel.valueOf(channel.toUpperCase(java.util.Locale.ROOT)),
                str(g, "verdict"), str(g, "comment"), str(g, "tier"), str(g, "agent"), str(g, "owner"), str(g, "sql"),
                g.getType().containsField("reviewer_auth") ? str(g, "reviewer_auth") : null);
    }

    private static AdminRecord admin(Group g) {
        List<AdminRecord.DeletedFile> files = new ArrayList<>();
        for (Group e : structs(g, "deleted_files")) {
            files.add(new AdminRecord.DeletedFile(str(e, "path"), e.getLong("first_seq", 0), e.getLong("last_seq", 0),
                    e.getLong("record_count", 0), str(e, "sha256")));
        }
        return new AdminRecord(ts(g, "occurred_at"), AdminRecord.Event.valueOf(str(g, "event").toUpperCase(java.util.Locale.ROOT)),
                str(g, "actor"), str(g, "detail"), str(g, "policy_hash"), files);
    }

    private static String str(Group g, String field) {
        return g.getFieldRepetitionCount(field) == 0 ? null : g.getString(field, 0);
    }

    private static Long lng(Group g, String field) {
        return g.getFieldRepetitionCount(field) == 0 ? null : g.getLong(field, 0);
    }

    private static Instant ts(Group g, String field) {
        Long m = lng(g, field);
        return m == null ? null : RecordCodec.instantOfMicros(m);
    }

    private static List<String> strs(Group g, String field) {
        Group list = g.getGroup(field, 0);
        int n = list.getFieldRepetitionCount("list");
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Group e = list.getGroup("list", i);
            out.add(e.getFieldRepetitionCount("element") == 0 ? null : e.getString("element", 0));
        }
        return out;
    }

    private static List<Group> structs(Group g, String field) {
        Group list = g.getGroup(field, 0);
        int n = list.getFieldRepetitionCount("list");
        List<Group> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(list.getGroup("list", i).getGroup("element", 0));
        }
        return out;
    }
}
