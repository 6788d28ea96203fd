package io.countersign.approvals.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.BindingHash;
import io.countersign.approvals.Channel;
import io.countersign.approvals.Decision;
import io.countersign.approvals.Grant;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.Verdict;
import io.countersign.approvals.policy.Tier;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The SQL both stores share. One connection, used under this object's lock: statements are short
 * and indexed, and a single connection keeps H2's embedded file simple. Times are epoch millis.
 */
abstract class JdbcApprovalStore implements ApprovalStore {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<List<String>> STRINGS = new TypeReference<>() {};

    private static final String REQUEST_COLUMNS = "id, version, agent, owner_name, database_name, client_address, sql_text,"
            + " parameters, reasons, sensitive_columns, tier, rule_name, quorum, reviewer_group, validity_ms, fingerprint,"
            + " fingerprint_hash, binding_hash, created_ms, expires_ms, state, state_reason, approved_until_ms, ticket, replica";

    private final String description;
    private Connection connection;
    private boolean closed;

    JdbcApprovalStore(String description) {
        this.description = description;
    }

    /** Opens a new connection to the store's database. */
    abstract Connection open() throws SQLException;

    /** Column type for long text. */
    abstract String textType();

    final synchronized void createSchema() {
        String text = textType();
        run("create the schema", c -> {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                lockSchema(s);
                s.execute("CREATE TABLE IF NOT EXISTS approval_request (id VARCHAR(64) PRIMARY KEY, version BIGINT NOT NULL,"
                        + " agent VARCHAR(256) NOT NULL, owner_name VARCHAR(256) NOT NULL, database_name VARCHAR(256) NOT NULL,"
                        + " client_address VARCHAR(256), sql_text " + text + " NOT NULL, parameters " + text + " NOT NULL,"
                        + " reasons " + text + " NOT NULL, sensitive_columns " + text + " NOT NULL, tier VARCHAR(16) NOT NULL,"
                        + " rule_name VARCHAR(256) NOT NULL, quorum INT NOT NULL, reviewer_group VARCHAR(256) NOT NULL, validity_ms BIGINT NOT NULL,"
                        + " fingerprint " + text + " NOT NULL, fingerprint_hash CHAR(64) NOT NULL, binding_hash CHAR(64) NOT NULL,"
                        + " created_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL, state VARCHAR(16) NOT NULL,"
                        + " state_reason " + text + " NOT NULL, approved_until_ms BIGINT, ticket BOOLEAN NOT NULL,"
                        + " replica VARCHAR(256) NOT NULL)");
                s.execute("CREATE INDEX IF NOT EXISTS approval_request_state ON approval_request (state, created_ms)");
                s.execute("CREATE INDEX IF NOT EXISTS approval_request_agent ON approval_request (agent, created_ms)");
                s.execute("CREATE INDEX IF NOT EXISTS approval_request_binding ON approval_request (binding_hash)");
                s.execute("CREATE TABLE IF NOT EXISTS approval_decision (request_id VARCHAR(64) NOT NULL, seq INT NOT NULL,"
                        + " reviewer VARCHAR(256) NOT NULL, verdict VARCHAR(16) NOT NULL, comment_text " + text + " NOT NULL,"
                        + " decided_ms BIGINT NOT NULL, channel VARCHAR(16) NOT NULL, PRIMARY KEY (request_id, seq))");
                // how the reviewer authenticated (oidc, static-token, ...): added after the first release, so nullable
                s.execute("ALTER TABLE approval_decision ADD COLUMN IF NOT EXISTS auth_method VARCHAR(32)");
                s.execute("CREATE TABLE IF NOT EXISTS approval_grant (id VARCHAR(64) PRIMARY KEY, agent VARCHAR(256) NOT NULL,"
                        + " database_name VARCHAR(256) NOT NULL, fingerprint " + text + " NOT NULL,"
                        + " fingerprint_hash CHAR(64) NOT NULL, created_by VARCHAR(256) NOT NULL, created_ms BIGINT NOT NULL,"
                        + " expires_ms BIGINT NOT NULL, request_id VARCHAR(64), revoked_ms BIGINT, revoked_by VARCHAR(256))");
                s.execute("CREATE INDEX IF NOT EXISTS approval_grant_lookup ON approval_grant (agent, fingerprint_hash)");
                c.commit();
            } finally {
                c.setAutoCommit(true);
            }
            return null;
        });
    }

    @FunctionalInterface
    interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /** Runs {@code work} on the store's connection, reopening it once if it broke. */
    final synchronized <T> T run(String what, Work<T> work) {
        if (closed) {
            throw new StoreException("approval store " + description + ": cannot " + what + ": the store is closed", null);
        }
        SQLException first = null;
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                if (connection == null || connection.isClosed()) {
                    connection = open();
                }
                return work.run(connection);
            } catch (SQLException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
                if (!connectionBroken()) {
                    break;
                }
            }
        }
        throw new StoreException("approval store " + description + ": cannot " + what + ": " + first.getMessage(), first);
    }

    private boolean connectionBroken() {
        try {
            if (connection != null && !connection.getAutoCommit()) {
                connection.rollback();
                connection.setAutoCommit(true);
            }
            if (connection != null && connection.isValid(2)) {
                return false;
            }
        } catch (SQLException ignored) {
            // falls through: treat as broken
        }
        try {
            if (connection != null) {
                connection.close();
            }
        } catch (SQLException ignored) {
            // already broken
        }
        connection = null;
        return true;
    }

    @Override
    public void insert(ApprovalRequest r) {
        run("insert request " + r.id(), c -> {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO approval_request (" + REQUEST_COLUMNS
                        + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")) {
                    int i = 1;
                    ps.setString(i++, r.id());
                    ps.setLong(i++, r.version());
                    ps.setString(i++, r.agent());
                    ps.setString(i++, r.owner());
                    ps.setString(i++, r.database());
                    ps.setString(i++, r.clientAddress());
                    ps.setString(i++, r.sql());
                    ps.setString(i++, json(r.parameters()));
                    ps.setString(i++, json(r.reasons()));
                    ps.setString(i++, json(r.sensitiveColumns()));
                    ps.setString(i++, r.tier().name());
                    ps.setString(i++, r.rule());
                    ps.setInt(i++, r.quorum());
                    ps.setString(i++, r.reviewerGroup());
                    ps.setLong(i++, r.approvalValidity().toMillis());
                    ps.setString(i++, r.fingerprint());
                    ps.setString(i++, BindingHash.sha256(r.fingerprint()));
                    ps.setString(i++, r.bindingHash());
                    ps.setLong(i++, r.created().toEpochMilli());
                    ps.setLong(i++, r.expires().toEpochMilli());
                    ps.setString(i++, r.state().name());
                    ps.setString(i++, r.stateReason());
                    setInstant(ps, i++, r.approvedUntil());
                    ps.setBoolean(i++, r.ticket());
                    ps.setString(i, r.replica());
                    ps.executeUpdate();
                }
                insertDecisions(c, r, 0);
                afterUpdate(c, r);
                c.commit();
            } finally {
                c.setAutoCommit(true);
            }
            return null;
        });
    }

    @Override
    public boolean update(ApprovalRequest r) {
        return run("update request " + r.id(), c -> {
            c.setAutoCommit(false);
            try {
                int stored;
                try (PreparedStatement ps = c.prepareStatement("UPDATE approval_request SET version = ?, state = ?,"
                        + " state_reason = ?, approved_until_ms = ? WHERE id = ? AND version = ?")) {
                    ps.setLong(1, r.version());
                    ps.setString(2, r.state().name());
                    ps.setString(3, r.stateReason());
                    setInstant(ps, 4, r.approvedUntil());
                    ps.setString(5, r.id());
                    ps.setLong(6, r.version() - 1);
                    if (ps.executeUpdate() != 1) {
                        c.rollback();
                        return false;
                    }
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM approval_decision WHERE request_id = ?")) {
                    ps.setString(1, r.id());
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        stored = rs.getInt(1);
                    }
                }
                insertDecisions(c, r, stored);
                afterUpdate(c, r);
                c.commit();
                return true;
            } finally {
                c.setAutoCommit(true);
            }
        });
    }

    /** Hook after a grant was stored or revoked (PostgreSQL tells the other replicas). */
    void afterGrantChange(Connection c, Grant g) throws SQLException {}

    /** Serialises schema creation between processes starting at once (PostgreSQL). */
    void lockSchema(Statement s) throws SQLException {}

    /** Hook inside the insert and update transactions (PostgreSQL sends its NOTIFY here, delivered on commit). */
    void afterUpdate(Connection c, ApprovalRequest r) throws SQLException {}

    private static io.countersign.approvals.ReviewerAuth authMethod(String stored) {
        if (stored == null) {
            return io.countersign.approvals.ReviewerAuth.UNRECORDED;
        }
        try {
            return io.countersign.approvals.ReviewerAuth.valueOf(stored);
        } catch (IllegalArgumentException e) {
            return io.countersign.approvals.ReviewerAuth.UNRECORDED; // written by a newer version
        }
    }

    private static void insertDecisions(Connection c, ApprovalRequest r, int from) throws SQLException {
        if (r.decisions().size() <= from) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO approval_decision (request_id, seq, reviewer, verdict,"
                + " comment_text, decided_ms, channel, auth_method) VALUES (?,?,?,?,?,?,?,?)")) {
            for (int seq = from; seq < r.decisions().size(); seq++) {
                Decision d = r.decisions().get(seq);
                ps.setString(1, r.id());
                ps.setInt(2, seq);
                ps.setString(3, d.reviewer());
                ps.setString(4, d.verdict().name());
                ps.setString(5, d.comment());
                ps.setLong(6, d.at().toEpochMilli());
                ps.setString(7, d.channel().name());
                ps.setString(8, d.auth().name());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    @Override
    public Optional<ApprovalRequest> find(String id) {
        List<ApprovalRequest> found = query("find request " + id, "SELECT " + REQUEST_COLUMNS + " FROM approval_request WHERE id = ?",
                ps -> ps.setString(1, id));
        return found.stream().findFirst();
    }

    @Override
    public List<ApprovalRequest> list(RequestState state, String agent, int limit) {
        StringBuilder sql = new StringBuilder("SELECT " + REQUEST_COLUMNS + " FROM approval_request WHERE 1 = 1");
        if (state != null) {
            sql.append(" AND state = ?");
        }
        if (agent != null) {
            sql.append(" AND agent = ?");
        }
        sql.append(" ORDER BY created_ms DESC, id DESC LIMIT ").append(Math.max(1, Math.min(limit, 10_000)));
        return query("list requests", sql.toString(), ps -> {
            int i = 1;
            if (state != null) {
                ps.setString(i++, state.name());
            }
            if (agent != null) {
                ps.setString(i, agent);
            }
        });
    }

    @Override
    public Optional<ApprovalRequest> findUsableTicket(String agent, String bindingHash, Instant now) {
        return query("find a ticket", "SELECT " + REQUEST_COLUMNS + " FROM approval_request WHERE binding_hash = ? AND agent = ?"
                + " AND state = 'APPROVED' AND ticket = TRUE AND approved_until_ms > ? ORDER BY created_ms", ps -> {
            ps.setString(1, bindingHash);
            ps.setString(2, agent);
            ps.setLong(3, now.toEpochMilli());
        }).stream().findFirst();
    }

    @Override
    public List<ApprovalRequest> overdue(Instant now, int limit) {
        return query("find overdue requests", "SELECT " + REQUEST_COLUMNS + " FROM approval_request WHERE state = 'PENDING'"
                + " AND expires_ms <= ? ORDER BY expires_ms LIMIT " + limit, ps -> ps.setLong(1, now.toEpochMilli()));
    }

    @Override
    public int abandonPending(String replica, Instant now) {
        return run("abandon pending requests", c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE approval_request SET state = 'ABANDONED', version = version + 1,"
                    + " state_reason = ? WHERE state = 'PENDING'" + (replica == null ? "" : " AND replica = ?"))) {
                ps.setString(1, "Countersign restarted at " + now + " while the request was pending; the agent's connection is gone");
                if (replica != null) {
                    ps.setString(2, replica);
                }
                return ps.executeUpdate();
            }
        });
    }

    interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    private List<ApprovalRequest> query(String what, String sql, Binder binder) {
        return run(what, c -> {
            List<ApprovalRequest> out = new ArrayList<>();
            Map<String, Integer> index = new LinkedHashMap<>();
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                binder.bind(ps);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        index.put(rs.getString("id"), out.size());
                        out.add(request(rs));
                    }
                }
            }
            if (out.isEmpty()) {
                return out;
            }
            Map<String, List<Decision>> decisions = new LinkedHashMap<>();
            String placeholders = String.join(",", java.util.Collections.nCopies(index.size(), "?"));
            try (PreparedStatement ps = c.prepareStatement("SELECT request_id, reviewer, verdict, comment_text, decided_ms, channel, auth_method"
                    + " FROM approval_decision WHERE request_id IN (" + placeholders + ") ORDER BY request_id, seq")) {
                int i = 1;
                for (String id : index.keySet()) {
                    ps.setString(i++, id);
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        decisions.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(new Decision(rs.getString(2),
                                Verdict.valueOf(rs.getString(3)), rs.getString(4), Instant.ofEpochMilli(rs.getLong(5)),
                                Channel.valueOf(rs.getString(6)), authMethod(rs.getString(7))));
                    }
                }
            }
            for (Map.Entry<String, List<Decision>> e : decisions.entrySet()) {
                int at = index.get(e.getKey());
                ApprovalRequest r = out.get(at);
                out.set(at, new ApprovalRequest(r.id(), r.version(), r.agent(), r.owner(), r.database(), r.clientAddress(), r.sql(),
                        r.parameters(), r.reasons(), r.sensitiveColumns(), r.tier(), r.rule(), r.quorum(), r.reviewerGroup(),
                        r.approvalValidity(), r.fingerprint(), r.bindingHash(), r.created(), r.expires(), r.state(), r.stateReason(),
                        r.approvedUntil(), r.ticket(), r.replica(), e.getValue()));
            }
            return out;
        });
    }

    private static ApprovalRequest request(ResultSet rs) throws SQLException {
        long approved = rs.getLong("approved_until_ms");
        Instant approvedUntil = rs.wasNull() ? null : Instant.ofEpochMilli(approved);
        return new ApprovalRequest(rs.getString("id"), rs.getLong("version"), rs.getString("agent"), rs.getString("owner_name"),
                rs.getString("database_name"), rs.getString("client_address"), rs.getString("sql_text"),
                strings(rs.getString("parameters")), strings(rs.getString("reasons")), strings(rs.getString("sensitive_columns")),
                Tier.valueOf(rs.getString("tier")), rs.getString("rule_name"), rs.getInt("quorum"), rs.getString("reviewer_group"),
                java.time.Duration.ofMillis(rs.getLong("validity_ms")), rs.getString("fingerprint"), rs.getString("binding_hash"), Instant.ofEpochMilli(rs.getLong("created_ms")),
                Instant.ofEpochMilli(rs.getLong("expires_ms")), RequestState.valueOf(rs.getString("state")),
                rs.getString("state_reason"), approvedUntil, rs.getBoolean("ticket"), rs.getString("replica"), List.of());
    }

    // ---- grants

    private static final String GRANT_COLUMNS = "id, agent, database_name, fingerprint, created_by, created_ms, expires_ms,"
            + " request_id, revoked_ms, revoked_by";

    @Override
    public void insertGrant(Grant g) {
        run("insert grant " + g.id(), c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO approval_grant (" + GRANT_COLUMNS
                    + ", fingerprint_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)")) {
                ps.setString(1, g.id());
                ps.setString(2, g.agent());
                ps.setString(3, g.database());
                ps.setString(4, g.fingerprint());
                ps.setString(5, g.createdBy());
                ps.setLong(6, g.created().toEpochMilli());
                ps.setLong(7, g.expires().toEpochMilli());
                ps.setString(8, g.requestId());
                setInstant(ps, 9, g.revoked());
                ps.setString(10, g.revokedBy());
                ps.setString(11, BindingHash.sha256(g.fingerprint()));
                ps.executeUpdate();
            }
            afterGrantChange(c, g);
            return null;
        });
    }

    @Override
    public Optional<Grant> findGrant(String id) {
        return grantQuery("find grant " + id, "SELECT " + GRANT_COLUMNS + " FROM approval_grant WHERE id = ?",
                ps -> ps.setString(1, id)).stream().findFirst();
    }

    @Override
    public List<Grant> grants(Instant activeAt, int limit) {
        String where = activeAt == null ? "" : " WHERE revoked_ms IS NULL AND expires_ms > ?";
        return grantQuery("list grants", "SELECT " + GRANT_COLUMNS + " FROM approval_grant" + where
                + " ORDER BY created_ms DESC, id DESC LIMIT " + Math.max(1, Math.min(limit, 10_000)), ps -> {
            if (activeAt != null) {
                ps.setLong(1, activeAt.toEpochMilli());
            }
        });
    }

    @Override
    public boolean revokeGrant(Grant g) {
        return run("revoke grant " + g.id(), c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE approval_grant SET revoked_ms = ?, revoked_by = ? WHERE id = ? AND revoked_ms IS NULL")) {
                ps.setLong(1, g.revoked().toEpochMilli());
                ps.setString(2, g.revokedBy());
                ps.setString(3, g.id());
                if (ps.executeUpdate() != 1) {
                    return false;
                }
            }
            afterGrantChange(c, g);
            return true;
        });
    }

    @Override
    public Optional<Grant> findActiveGrant(String agent, String database, String fingerprint, Instant now) {
        return grantQuery("find a grant", "SELECT " + GRANT_COLUMNS + " FROM approval_grant WHERE agent = ? AND fingerprint_hash = ?"
                + " AND database_name = ? AND revoked_ms IS NULL AND expires_ms > ? ORDER BY expires_ms DESC", ps -> {
            ps.setString(1, agent);
            ps.setString(2, BindingHash.sha256(fingerprint));
            ps.setString(3, database);
            ps.setLong(4, now.toEpochMilli());
        }).stream().filter(g -> g.fingerprint().equals(fingerprint)).findFirst();
    }

    private List<Grant> grantQuery(String what, String sql, Binder binder) {
        return run(what, c -> {
            List<Grant> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                binder.bind(ps);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long revoked = rs.getLong("revoked_ms");
                        Instant revokedAt = rs.wasNull() ? null : Instant.ofEpochMilli(revoked);
                        out.add(new Grant(rs.getString("id"), rs.getString("agent"), rs.getString("database_name"),
                                rs.getString("fingerprint"), rs.getString("created_by"), Instant.ofEpochMilli(rs.getLong("created_ms")),
                                Instant.ofEpochMilli(rs.getLong("expires_ms")), rs.getString("request_id"), revokedAt,
                                rs.getString("revoked_by")));
                    }
                }
            }
            return out;
        });
    }

    // ---- helpers

    private static void setInstant(PreparedStatement ps, int i, Instant t) throws SQLException {
        if (t == null) {
            ps.setNull(i, Types.BIGINT);
        } else {
            ps.setLong(i, t.toEpochMilli());
        }
    }

    private static String json(List<String> values) {
        try {
            return JSON.writeValueAsString(values);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> strings(String json) {
        try {
            return JSON.readValue(json, STRINGS);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored list is not JSON: " + json, e);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // closing anyway
            }
            connection = null;
        }
    }
}
