package io.countersign.audit;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * One statement an agent sent, as the proxy settled and ran it. Parameters arrive already redacted by
 * the caller (values bound to sensitive columns replaced); the audit stores what it is given.
 * Nullable: everything except {@code started}, {@code protocol} and {@code sql}; list fields are never
 * null (null becomes empty). Timestamps and the duration are kept to the microsecond.
 */
public record StatementRecord(
        Instant started,
        Instant ended,
        String agent,
        String owner,
        String sessionId,
        String clientAddress,
        Protocol protocol,
        String database,
        String sql,
        String fingerprint,
        List<String> parameters,
        List<String> statementKinds,
        List<CategoryReason> categories,
        List<String> tablesRead,
        List<String> tablesWritten,
        List<String> columnsRead,
        List<String> columnsWritten,
        Decision decision,
        Long rowsReturned,
        Long rowsAffected,
        Long bytesSent,
        String errorCode,
        String errorMessage,
        Duration duration,
        List<String> resultColumns,
        List<String> rowKeys,
        boolean rowKeysCapped,
        String settledBy,
        String runAsRole) implements AuditRecord {

    /** Without a run-as role: the statement ran as the agent's own backend user. */
    public StatementRecord(Instant started, Instant ended, String agent, String owner, String sessionId, String clientAddress,
                           Protocol protocol, String database, String sql, String fingerprint, List<String> parameters,
                           List<String> statementKinds, List<CategoryReason> categories, List<String> tablesRead,
                           List<String> tablesWritten, List<String> columnsRead, List<String> columnsWritten, Decision decision,
                           Long rowsReturned, Long rowsAffected, Long bytesSent, String errorCode, String errorMessage,
                           Duration duration, List<String> resultColumns, List<String> rowKeys, boolean rowKeysCapped,
                           String settledBy) {
        this(started, ended, agent, owner, sessionId, clientAddress, protocol, database, sql, fingerprint, parameters,
                statementKinds, categories, tablesRead, tablesWritten, columnsRead, columnsWritten, decision, rowsReturned,
                rowsAffected, bytesSent, errorCode, errorMessage, duration, resultColumns, rowKeys, rowKeysCapped, settledBy, null);
    }

    public StatementRecord {
        if (started == null || protocol == null || sql == null) {
            throw new IllegalArgumentException("a statement record needs started, protocol and sql (got started="
                    + started + ", protocol=" + protocol + ", sql " + (sql == null ? "null" : "set") + ")");
        }
        started = Canonical.micros(started);
        ended = Canonical.micros(ended);
        duration = Canonical.micros(duration);
        parameters = Canonical.list(parameters);
        statementKinds = Canonical.listNoNulls(statementKinds, "statementKinds");
        categories = Canonical.listNoNulls(categories, "categories");
        tablesRead = Canonical.listNoNulls(tablesRead, "tablesRead");
        tablesWritten = Canonical.listNoNulls(tablesWritten, "tablesWritten");
        columnsRead = Canonical.listNoNulls(columnsRead, "columnsRead");
        columnsWritten = Canonical.listNoNulls(columnsWritten, "columnsWritten");
        resultColumns = Canonical.listNoNulls(resultColumns, "resultColumns");
        rowKeys = Canonical.listNoNulls(rowKeys, "rowKeys");
    }

    @Override
    public Instant at() {
        return started;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from an existing record, to change a few fields. */
    public static Builder builder(StatementRecord from) {
        return new Builder().started(from.started).ended(from.ended).agent(from.agent).owner(from.owner)
                .sessionId(from.sessionId).clientAddress(from.clientAddress).protocol(from.protocol).database(from.database)
                .sql(from.sql).fingerprint(from.fingerprint).parameters(from.parameters).statementKinds(from.statementKinds)
                .categories(from.categories).tablesRead(from.tablesRead).tablesWritten(from.tablesWritten)
                .columnsRead(from.columnsRead).columnsWritten(from.columnsWritten).decision(from.decision)
                .rowsReturned(from.rowsReturned).rowsAffected(from.rowsAffected).bytesSent(from.bytesSent)
                .errorCode(from.errorCode).errorMessage(from.errorMessage).duration(from.duration)
                .resultColumns(from.resultColumns).rowKeys(from.rowKeys).rowKeysCapped(from.rowKeysCapped)
                .settledBy(from.settledBy).runAsRole(from.runAsRole);
    }

    /** Twenty-eight positional fields invite mistakes; callers fill what they know by name. */
    public static final class Builder {
        private Instant started;
        private Instant ended;
        private String agent;
        private String owner;
        private String sessionId;
        private String clientAddress;
        private Protocol protocol;
        private String database;
        private String sql;
        private String fingerprint;
        private List<String> parameters;
        private List<String> statementKinds;
        private List<CategoryReason> categories;
        private List<String> tablesRead;
        private List<String> tablesWritten;
        private List<String> columnsRead;
        private List<String> columnsWritten;
        private Decision decision;
        private Long rowsReturned;
        private Long rowsAffected;
        private Long bytesSent;
        private String errorCode;
        private String errorMessage;
        private Duration duration;
        private List<String> resultColumns;
        private List<String> rowKeys;
        private boolean rowKeysCapped;
        private String settledBy;
        private String runAsRole;

        private Builder() {}

        public Builder started(Instant v) { started = v; return this; }
        public Builder ended(Instant v) { ended = v; return this; }
        public Builder agent(String v) { agent = v; return this; }
        public Builder owner(String v) { owner = v; return this; }
        public Builder sessionId(String v) { sessionId = v; return this; }
        public Builder clientAddress(String v) { clientAddress = v; return this; }
        public Builder protocol(Protocol v) { protocol = v; return this; }
        public Builder database(String v) { database = v; return this; }
        public Builder sql(String v) { sql = v; return this; }
        public Builder fingerprint(String v) { fingerprint = v; return this; }
        public Builder parameters(List<String> v) { parameters = v; return this; }
        public Builder statementKinds(List<String> v) { statementKinds = v; return this; }
        public Builder categories(List<CategoryReason> v) { categories = v; return this; }
        public Builder tablesRead(List<String> v) { tablesRead = v; return this; }
        public Builder tablesWritten(List<String> v) { tablesWritten = v; return this; }
        public Builder columnsRead(List<String> v) { columnsRead = v; return this; }
        public Builder columnsWritten(List<String> v) { columnsWritten = v; return this; }
        public Builder decision(Decision v) { decision = v; return this; }
        public Builder rowsReturned(Long v) { rowsReturned = v; return this; }
        public Builder rowsAffected(Long v) { rowsAffected = v; return this; }
        public Builder bytesSent(Long v) { bytesSent = v; return this; }
        public Builder errorCode(String v) { errorCode = v; return this; }
        public Builder errorMessage(String v) { errorMessage = v; return this; }
        public Builder duration(Duration v) { duration = v; return this; }
        public Builder resultColumns(List<String> v) { resultColumns = v; return this; }
        public Builder rowKeys(List<String> v) { rowKeys = v; return this; }
        public Builder rowKeysCapped(boolean v) { rowKeysCapped = v; return this; }
        public Builder settledBy(String v) { settledBy = v; return this; }
        /** The elevated backend role the statement ran as (a policy rule's run-as), or null for the agent's own. */
        public Builder runAsRole(String v) { runAsRole = v; return this; }

        public StatementRecord build() {
            return new StatementRecord(started, ended, agent, owner, sessionId, clientAddress, protocol, database,
                    sql, fingerprint, parameters, statementKinds, categories, tablesRead, tablesWritten, columnsRead,
                    columnsWritten, decision, rowsReturned, rowsAffected, bytesSent, errorCode, errorMessage, duration,
                    resultColumns, rowKeys, rowKeysCapped, settledBy, runAsRole);
        }
    }
}
