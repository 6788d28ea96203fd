package io.countersign.wire.pg;

import io.countersign.wire.spi.BackendTarget;
import io.countersign.wire.spi.BoundParameter;
import io.countersign.wire.spi.GateDecision;
import io.countersign.wire.spi.ProtocolError;
import io.countersign.wire.spi.ResultColumn;
import io.countersign.wire.spi.ReusedColumns;
import io.countersign.wire.spi.SessionInfo;
import io.countersign.wire.spi.StatementCompletion;
import io.countersign.wire.spi.StatementRequest;
import io.countersign.wire.spi.StatementWithdrawnException;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent session relayed to its backend. Everything here runs on the client channel's event
 * loop (the backend channel is registered on the same loop), so there is no locking.
 *
 * <p>Client to backend: each message is classified by its type byte; Query and Execute go through
 * the gate; allowed messages are forwarded as slices of the read buffer. Backend to client: a queue
 * of expected responses mirrors what was sent, so each response is attributed to the statement it
 * belongs to (rows, tags, errors) for the statement's completion event.
 *
 * <p>Denials and withdrawals are raised on the backend itself (a {@code DO} block raising the
 * error's SQLSTATE and message replaces the statement), so the backend fails a transaction block,
 * rolls back an implicit extended-protocol transaction and skips to Sync exactly as it would have
 * had the statement itself failed. Side effect: in the extended protocol the unnamed prepared
 * statement is replaced by that block.
 */
final class RelaySession implements BackendPeer {

    private static final Logger log = LoggerFactory.getLogger(RelaySession.class);

    /** Response expectations that carry no data. */
    enum Expect { PARSE, BIND, CLOSE, SYNC, SWALLOW_PARSE, SWALLOW_BIND, SWALLOW_CLOSE }

    /** The portal Countersign's own run-as role switches execute on (closed right after). */
    static final String RUN_AS_PORTAL = "countersign_run_as";

    record Describe(boolean portal, String name) {}

    record Prepared(String sql, int[] paramTypes, byte[][] columns) {}

    static final class Portal {
        final String statement;
        final List<BoundParameter> params;
        byte[] columns;

        Portal(String statement, List<BoundParameter> params) {
            this.statement = statement;
            this.params = params;
        }
    }

    record Hold(Stmt stmt, ByteBuf message, CompletableFuture<GateDecision> outcome) {}

    private final PostgresListener.Settings settings;
    private final PgMetrics metrics;
    private final CancelRegistry cancels;
    final Channel client;
    final SessionInfo info;
    final BackendTarget target;
    final Map<String, String> startupParams;
    private final Forwarder toClient;
    private Channel backend;
    private Forwarder toBackend;
    private CancelRegistry.Key key;
    int backendPid;
    int backendSecret;

    private boolean backendReady;
    private boolean closed;
    private Hold hold;
    /** A run-as statement running on its own elevated backend session: the client's next messages wait for it. */
    private ElevatedSession elevatedRun;
    private final ArrayDeque<ByteBuf> waiting = new ArrayDeque<>();
    /** Bytes queued in {@link #waiting}; past a limit the client is not read until the hold ends. */
    private long waitingBytes;
    private static final long WAITING_LIMIT = 1 << 20;
    private boolean skipUntilSync;
    private char txStatus = 'I';

    private final Map<String, Prepared> statements = new HashMap<>();
    private final Map<String, Portal> portals = new HashMap<>();
    private final Map<String, Stmt> suspended = new HashMap<>(4);
    private final ArrayDeque<Object> expect = new ArrayDeque<>();

    /** Backend output after an observer refused a result: dropped until the next ReadyForQuery. */
    private boolean discardUntilReady;
    /** The client sent Terminate: the backend closing next is the expected end, not a failure. */
    private boolean terminating;
    /** The backend error that started a skip to Sync while no gated statement was waiting for it. */
    private ProtocolError skippedError;
    private boolean outputPaused;
    private ByteBuf pausedFinal;
    private final ArrayDeque<ByteBuf> outWaiting = new ArrayDeque<>();
    /** Bytes in {@link #outWaiting}; the backend is read on during a pause until this reaches {@link #PAUSED_READ_LIMIT}. */
    private int outWaitingBytes;
    /**
     * A pause for the audit lasts tens of microseconds: turning the backend's reading off and on again for
     * each would cost two epoll_ctl calls per statement, so what arrives meanwhile is queued up to this much.
     */
    private static final int PAUSED_READ_LIMIT = 64 * 1024;

    RelaySession(PostgresListener.Settings settings, PgMetrics metrics, CancelRegistry cancels, Channel client,
                 SessionInfo info, BackendTarget target, Map<String, String> startupParams) {
        this.settings = settings;
        this.metrics = metrics;
        this.cancels = cancels;
        this.client = client;
        this.info = info;
        this.target = target;
        this.startupParams = startupParams;
        this.toClient = new Forwarder(client);
    }

    // ------------------------------------------------------------------ backend connection

    @Override
    public BackendTarget target() {
        return target;
    }

    @Override
    public Map<String, String> startupParams() {
        return startupParams;
    }

    void connect() {
        client.config().setAutoRead(false);
        backendBootstrap(new BackendHandler(this)).connect(target.host(), target.port()).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                backendFailed("cannot connect to backend " + describeBackend() + ": " + f.cause().getMessage()
                        + "; check that the backend is running and the listener's backend host/port in the config", null);
            }
        });
    }

    /** A backend connection on the client's own event loop (so no locking between the two). */
    Bootstrap backendBootstrap(BackendHandler handler) {
        return new Bootstrap()
                .group(client.eventLoop())
                .channel(settings.transport().socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(64 * 1024, 256 * 1024))
                .handler(handler);
    }

    @Override
    public String describeBackend() {
        return "'" + target.name() + "' at " + target.host() + ":" + target.port();
    }

    @Override
    public void backendChannel(Channel ch) {
        this.backend = ch;
        this.toBackend = new Forwarder(ch);
    }

    /** The backend logged us in; relays its parameters and our own key to the client. */
    @Override
    public void backendKey(int pid, int secret) {
        backendPid = pid;
        backendSecret = secret;
    }

    @Override
    public void forwardDuringLogin(ByteBuf buf, int index, int size) {
        toClient.add(buf, index, size);
    }

    @Override
    public void flushLogin() {
        toClient.flushRange();
    }

    /** Backend is ready (its ReadyForQuery arrived): announce our key and ReadyForQuery to the client. */
    @Override
    public void backendReady(char status) {
        if (closed) {
            return;
        }
        key = cancels.register(this);
        toClient.write(PgOut.backendKeyData(client.alloc(), key.pid(), key.secret()));
        toClient.write(PgOut.readyForQuery(client.alloc(), status));
        client.flush();
        txStatus = status;
        backendReady = true;
        drainWaiting();
    }

    /** The backend could not be reached or refused our login: tell the client and close only this session. */
    @Override
    public void backendFailed(String message, String sqlStateOverride) {
        if (closed) {
            return;
        }
        metrics.backendErrors.increment();
        log.warn("session {} ({}): {}", info.sessionId(), info.agent(), message);
        String state = sqlStateOverride != null ? sqlStateOverride : "08006";
        failAll(new ProtocolError(state, 0, message, null));
        client.writeAndFlush(PgOut.error(client.alloc(), "FATAL", state, message)).addListener(ChannelFutureListener.CLOSE);
        shutdown();
    }

    // ------------------------------------------------------------------ client -> backend

    void fromClient(ByteBuf buf, int index, int size) {
        if (closed) {
            return;
        }
        if (hold != null || elevatedRun != null || !backendReady || !waiting.isEmpty()) {
            waiting.add(buf.retainedSlice(index, size));
            waitingBytes += size;
            if (waitingBytes >= WAITING_LIMIT) {
                updateClientAutoRead();
            }
            return;
        }
        dispatchClient(buf, index, size);
    }

    void clientBatchEnd() {
        if (toBackend != null) {
            toBackend.flushRange();
        }
    }

    void clientReadComplete() {
        if (backend != null) {
            backend.flush();
            if (!backend.isWritable()) {
                client.config().setAutoRead(false);
            }
        }
    }

    private void dispatchClient(ByteBuf buf, int idx, int size) {
        int type = buf.getByte(idx);
        if (skipUntilSync) {
            // After an error the server ignores everything up to Sync; so do we, forwarding nothing.
            if (type == 'S') {
                skipUntilSync = false;
                expect.add(Expect.SYNC);
                toBackend.add(buf, idx, size);
            } else if (type == 'X') {
                terminating = true;
                toBackend.add(buf, idx, size);
            }
            return;
        }
        int body = idx + 5;
        switch (type) {
            case 'Q' -> {
                String sql = PgOut.readCString(buf, body);
                Stmt st = new Stmt(request(sql, List.of(), false), null);
                decide(st, buf, idx, size);
            }
            case 'P' -> {
                int nameEnd = PgOut.cstringEnd(buf, body);
                String name = buf.toString(body, nameEnd - body, StandardCharsets.UTF_8);
                int sqlEnd = PgOut.cstringEnd(buf, nameEnd + 1);
                String sql = buf.toString(nameEnd + 1, sqlEnd - nameEnd - 1, StandardCharsets.UTF_8);
                int n = buf.getUnsignedShort(sqlEnd + 1);
                int[] types = new int[n];
                for (int i = 0; i < n; i++) {
                    types[i] = buf.getInt(sqlEnd + 3 + 4 * i);
                }
                statements.put(name, new Prepared(sql, types, new byte[1][]));
                expect.add(Expect.PARSE);
                toBackend.add(buf, idx, size);
            }
            case 'B' -> {
                int portalEnd = PgOut.cstringEnd(buf, body);
                String portal = portalEnd == body ? "" : buf.toString(body, portalEnd - body, StandardCharsets.UTF_8);
                int stmtEnd = PgOut.cstringEnd(buf, portalEnd + 1);
                String stmtName = stmtEnd == portalEnd + 1 ? "" : buf.toString(portalEnd + 1, stmtEnd - portalEnd - 1, StandardCharsets.UTF_8);
                Prepared ps = statements.get(stmtName);
                finishSuspended(portal);
                portals.put(portal, new Portal(stmtName, ParamText.bindParameters(buf, stmtEnd + 1, ps == null ? null : ps.paramTypes())));
                expect.add(Expect.BIND);
                toBackend.add(buf, idx, size);
            }
            case 'D' -> {
                boolean portal = buf.getByte(body) == 'P';
                expect.add(new Describe(portal, PgOut.readCString(buf, body + 1)));
                toBackend.add(buf, idx, size);
            }
            case 'E' -> {
                String portalName = PgOut.readCString(buf, body);
                Stmt resumed = suspended.remove(portalName);
                if (resumed != null) {
                    // Fetching more rows of a portal the gate already allowed: the same statement.
                    expect.add(resumed);
                    toBackend.add(buf, idx, size);
                    return;
                }
                Portal p = portals.get(portalName);
                Prepared ps = p == null ? null : statements.get(p.statement);
                Stmt st = new Stmt(request(ps == null ? "" : ps.sql(), p == null ? List.of() : p.params, true), portalName);
                decide(st, buf, idx, size);
            }
            case 'C' -> {
                boolean portal = buf.getByte(body) == 'P';
                String name = PgOut.readCString(buf, body + 1);
                if (portal) {
                    finishSuspended(name);
                    portals.remove(name);
                } else {
                    statements.remove(name);
                }
                expect.add(Expect.CLOSE);
                toBackend.add(buf, idx, size);
            }
            case 'S' -> {
                expect.add(Expect.SYNC);
                toBackend.add(buf, idx, size);
            }
            case 'F' -> {
                // Fast-path function call: it runs a function like a statement, so the gate sees it
                // (the text names the function by OID; an analyser cannot clear it, so it fails closed).
                int oid = buf.getInt(body);
                Stmt st = new Stmt(request("-- fast-path FunctionCall of function OID " + oid + " (SELECT " + oid
                        + "::regprocedure to name it)", List.of(), false), null);
                decide(st, buf, idx, size);
            }
            case 'H', 'd', 'c', 'f' -> toBackend.add(buf, idx, size);
            case 'X' -> {
                terminating = true;
                toBackend.add(buf, idx, size);
            }
            default -> protocolViolation("unknown frontend message type " + describeType(type)
                    + "; the client does not speak the PostgreSQL protocol v3 or its stream is corrupt");
        }
    }

    static String describeType(int type) {
        return type >= 0x20 && type < 0x7f ? "'" + (char) type + "'" : String.format("0x%02x", type & 0xFF);
    }

    private StatementRequest request(String sql, List<BoundParameter> params, boolean extended) {
        return new StatementRequest(info, sql, params, extended, txStatus != 'I');
    }

    private void decide(Stmt st, ByteBuf buf, int idx, int size) {
        GateDecision d;
        try {
            d = settings.gate().decide(st.request);
            if (d == null) {
                d = new GateDecision.Deny(null, internalGateError("returned no decision"));
            }
        } catch (RuntimeException e) {
            log.error("session {}: the statement gate failed; denying the statement", info.sessionId(), e);
            d = new GateDecision.Deny(null, internalGateError("failed: " + e));
        }
        apply(st, d, buf, idx, size);
    }

    private static ProtocolError internalGateError(String what) {
        return new ProtocolError("XX000", 1105, "Countersign's statement gate " + what
                + "; the statement was not run (fail closed); see the Countersign log", null);
    }

    private void apply(Stmt st, GateDecision d, ByteBuf buf, int idx, int size) {
        switch (d) {
            case GateDecision.Allow a when a.runAs() != null -> {
                st.context = a.context();
                st.observer = a.observer();
                runElevated(st, a.runAs(), buf, idx, size);
            }
            case GateDecision.Allow a -> {
                st.context = a.context();
                st.observer = a.observer();
                expect.add(st);
                toBackend.add(buf, idx, size);
            }
            case GateDecision.Deny dn -> {
                st.context = dn.context();
                raiseOnBackend(st, dn.error());
            }
            case GateDecision.Defer df -> {
                Hold h = new Hold(st, buf.retainedSlice(idx, size), df.outcome());
                hold = h;
                if (df.notice() != null) {
                    toClient.write(PgOut.notice(client.alloc(), df.notice()));
                    client.flush();
                }
                toBackend.flushRange();
                updateClientAutoRead();
                df.outcome().whenComplete((r, ex) -> client.eventLoop().execute(() -> resolve(h, r, ex)));
            }
        }
    }

    /**
     * Runs one approved statement as the elevated backend role {@code role}, on this session's own
     * backend connection, so that the elevation cannot outlive the statement:
     *
     * <ul>
     * <li>Simple query: sent as {@code SET LOCAL ROLE r; <sql>; RESET ROLE}. Several statements in
     * one Query message run in one transaction (an implicit block, or the client's own block), so
     * the role holds exactly for the statement. The closing {@code RESET ROLE} acts at session
     * level: it also undoes a {@code SET ROLE} some function ran inside the statement, which
     * {@code SET LOCAL} alone would let survive the commit. If anything fails, the transaction is
     * aborted, nothing more runs under the role, and rollback (to the block's start, or to a
     * savepoint taken before the switch) undoes it. The price: a role the agent had set for its
     * session before is reset too (a loss of privilege, never a gain).
     * <li>Extended protocol: the same two switches are executed on a portal of Countersign's own
     * just before and just after the client's Execute, in the same pipeline, so they share its
     * transaction (the implicit one ends at the client's Sync); an error skips to Sync and aborts.
     * </ul>
     *
     * The gate never lends a role to a statement that controls transactions or sets session state
     * (BEGIN, COMMIT, SAVEPOINT, SET, ...), which could carry the role past the statement.
     * Statements PostgreSQL refuses inside a transaction block (VACUUM, CREATE DATABASE, ...; see
     * {@link OutsideTransaction}) run on a separate session logged in as the role instead
     * ({@link #runOnElevatedSession}).
     */
    private void runElevated(Stmt st, String role, ByteBuf buf, int idx, int size) {
        if (!target.elevated().containsKey(role)) {
            // only roles the operator listed for this backend are ever switched to
            raiseOnBackend(st, new ProtocolError("42501", 1227, "the statement was approved to run as role \"" + role
                    + "\", which backend \"" + target.name() + "\" does not list under elevated-roles; it did not run."
                    + " Add the role there in the Countersign config", null));
            return;
        }
        java.util.Optional<String> outside = OutsideTransaction.command(st.request.sql());
        if (outside.isPresent() && buf.getByte(idx) != 'F') {
            runOnElevatedSession(st, role, outside.get());
            return;
        }
        String switchTo = "SET LOCAL ROLE " + quoteIdent(role);
        if (!st.extended() && buf.getByte(idx) == 'Q') {
            st.elevationPrefix = true;
            st.elevated = true;
            expect.add(st);
            toBackend.write(PgOut.query(client.alloc(), switchTo + "; " + st.request.sql() + "\n; RESET ROLE"));
            return;
        }
        if (!st.extended()) {
            // a fast-path function call: there is no text to wrap; it runs as the agent's own user
            expect.add(st);
            toBackend.add(buf, idx, size);
            return;
        }
        hiddenSwitch(st, switchTo);
        expect.add(st);
        toBackend.add(buf, idx, size);
        hiddenSwitch(st, "RESET ROLE");
    }

    /**
     * Runs {@code command}, which cannot run in a transaction block, on its own backend session logged
     * in with the role's credentials ({@link ElevatedSession}); its results reach the client as this
     * session's, followed by a ReadyForQuery with this session's own status. Only outside a
     * transaction block and with nothing else in flight (else the agent's transaction state is not
     * known here); the refusals are raised on the agent's own backend, so a transaction block fails
     * exactly as PostgreSQL's own "cannot run inside a transaction block" would fail it.
     */
    private void runOnElevatedSession(Stmt st, String role, String command) {
        if (st.extended()) {
            raiseOnBackend(st, new ProtocolError("0A000", 0, command + " was approved to run as role \"" + role
                    + "\", but it cannot run in a transaction block, so it must run on a separate session logged in as that role,"
                    + " which Countersign does only for simple-protocol queries; it did not run. Send it as a simple query"
                    + " (psql does; pgjdbc: preferQueryMode=simple)", null));
            return;
        }
        if (txStatus != 'I') {
            raiseOnBackend(st, new ProtocolError("25001", 0, command + " cannot run inside a transaction block; run it outside one"
                    + " (it was approved to run as role \"" + role + "\" and did not run)", null));
            return;
        }
        if (!expect.isEmpty()) {
            raiseOnBackend(st, new ProtocolError("25001", 0, command + " cannot run inside a transaction block, and it was sent"
                    + " before this session's earlier statements had finished, so Countersign cannot tell whether one is open;"
                    + " it did not run. Send it on its own, after the previous results", null));
            return;
        }
        expect.add(st);
        elevatedRun = new ElevatedSession(this, role, command, st.request.sql(), target.as(target.elevated().get(role)));
        elevatedRun.start();
        updateClientAutoRead();
    }

    /**
     * The elevated session ended: after the statement's ReadyForQuery ({@code error} null), or with
     * {@code error} (its login failed, or it broke off). The client gets the error, if any, then a
     * ReadyForQuery with this session's status, which the elevated statement did not change.
     */
    void elevatedEnded(ElevatedSession e, ProtocolError error) {
        if (elevatedRun != e || closed) {
            return;
        }
        if (error != null) {
            ByteBuf err = PgOut.error(client.alloc(), "ERROR", error);
            try {
                fromBackend(err, err.readerIndex(), err.readableBytes());
                toClient.flushRange();
            } finally {
                err.release();
            }
        }
        ByteBuf z = PgOut.readyForQuery(client.alloc(), txStatus);
        try {
            fromBackend(z, z.readerIndex(), z.readableBytes());
            toClient.flushRange();
        } finally {
            z.release();
        }
        elevatedRun = null;
        client.flush();
        drainWaiting();
    }

    private void hiddenSwitch(Stmt owner, String sql) {
        Stmt hidden = new Stmt(owner.request, RUN_AS_PORTAL);
        hidden.hidden = true;
        toBackend.write(PgOut.parseBindExecuteClose(client.alloc(), sql, RUN_AS_PORTAL));
        expect.add(Expect.SWALLOW_PARSE);
        expect.add(Expect.SWALLOW_BIND);
        expect.add(hidden);
        expect.add(Expect.SWALLOW_CLOSE);
    }

    static String quoteIdent(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    /**
     * Backend messages of a run-as statement that are Countersign's, not the client's: the role
     * switches' CommandComplete and notices. Returns true when the message was consumed here.
     */
    private boolean elevationMessage(Stmt st, int type, ByteBuf buf, int idx, int size) {
        if (st.hidden) {
            if (type == 'C') {
                expect.pollFirst();
                return true;
            }
            return type == 'N'; // "SET LOCAL can only be used in transaction blocks" outside the client's block
        }
        if (st.elevationPrefix) {
            if (type == 'C' || type == 'E') {
                st.elevationPrefix = false;
            }
            return type == 'C';
        }
        if (st.setTagHeld) {
            st.setTagHeld = false;
            if (type == 'Z') {
                return false; // the held RESET was the closing switch: it is dropped
            }
            // the held RESET was the client's own statement: it goes out after all, before this message
            st.addTag("RESET");
            ByteBuf c = PgOut.commandComplete(client.alloc(), "RESET");
            st.bytes += c.readableBytes();
            if (!st.blocked && !discardUntilReady) {
                toClient.write(c);
            } else {
                c.release();
            }
        }
        if (type == 'C' && "RESET".equals(PgOut.readCString(buf, idx + 5))) {
            st.setTagHeld = true;
            return true;
        }
        return false;
    }

    /** Replaces the statement with one that raises {@code error} on the backend. */
    private void raiseOnBackend(Stmt st, ProtocolError error) {
        st.forcedError = error;
        String sql = PgOut.raising(error);
        if (st.extended()) {
            toBackend.write(PgOut.parseBindExecute(client.alloc(), sql));
            expect.add(Expect.SWALLOW_PARSE);
            expect.add(Expect.SWALLOW_BIND);
            expect.add(st);
            skipUntilSync = true;
        } else {
            toBackend.write(PgOut.query(client.alloc(), sql));
            expect.add(st);
        }
    }

    private void resolve(Hold h, GateDecision decision, Throwable failure) {
        if (hold != h || closed) {
            return; // withdrawn or the session ended first
        }
        hold = null;
        ByteBuf msg = h.message();
        try {
            GateDecision d = decision;
            if (failure != null || d == null) {
                log.error("session {}: a held statement's decision failed; denying it", info.sessionId(), failure);
                d = new GateDecision.Deny(null, internalGateError("could not decide a held statement"
                        + (failure != null ? ": " + failure : "")));
            }
            apply(h.stmt(), d, msg, msg.readerIndex(), msg.readableBytes());
            toBackend.flushRange();
        } finally {
            msg.release();
        }
        drainWaiting();
    }

    private void drainWaiting() {
        while (hold == null && elevatedRun == null && !closed && !waiting.isEmpty()) {
            ByteBuf m = waiting.poll();
            waitingBytes -= m.readableBytes();
            try {
                dispatchClient(m, m.readerIndex(), m.readableBytes());
                if (toBackend != null) {
                    toBackend.flushRange();
                }
            } finally {
                m.release();
            }
        }
        if (backend != null) {
            backend.flush();
        }
        client.flush();
        updateClientAutoRead();
    }

    @Override
    public void updateClientAutoRead() {
        // While a statement is held the client is still read (so a disconnect is noticed at once),
        // its messages queue in order, up to a limit.
        boolean read = !closed && backendReady && backend != null && backend.isWritable()
                && (hold == null && elevatedRun == null ? waiting.isEmpty() : waitingBytes < WAITING_LIMIT);
        if (client.config().isAutoRead() != read) {
            client.config().setAutoRead(read);
        }
    }

    void updateBackendAutoRead() {
        if (backend == null) {
            return;
        }
        boolean read = !closed && !(outputPaused && outWaitingBytes >= PAUSED_READ_LIMIT) && client.isWritable();
        if (backend.config().isAutoRead() != read) {
            backend.config().setAutoRead(read);
        }
    }

    /** A CancelRequest carrying this session's key arrived (on another connection). */
    void cancelRequested() {
        client.eventLoop().execute(() -> {
            if (closed) {
                return;
            }
            if (hold != null) {
                Hold h = hold;
                hold = null;
                h.outcome().completeExceptionally(new StatementWithdrawnException(StatementWithdrawnException.Reason.CANCELLED));
                ByteBuf msg = h.message();
                try {
                    raiseOnBackend(h.stmt(), ProtocolError.cancelled(
                            "canceling statement due to user request: withdrawn while held for approval"));
                    toBackend.flushRange();
                } finally {
                    msg.release();
                }
                drainWaiting();
                return;
            }
            if (elevatedRun != null) {
                elevatedRun.cancel();
            } else if (backendPid != 0) {
                sendBackendCancel(backendPid, backendSecret);
            }
        });
    }

    void sendBackendCancel(int backendPid, int backendSecret) {
        new Bootstrap()
                .group(client.eventLoop())
                .channel(settings.transport().socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(target.host(), target.port())
                .addListener((ChannelFutureListener) f -> {
                    if (f.isSuccess()) {
                        f.channel().writeAndFlush(PgOut.cancelRequest(f.channel().alloc(), backendPid, backendSecret));
                        f.channel().eventLoop().schedule(() -> f.channel().close(), 5, TimeUnit.SECONDS);
                    } else {
                        log.warn("session {}: could not send a cancel request to backend {}: {}",
                                info.sessionId(), describeBackend(), f.cause().toString());
                    }
                });
    }

    void clientProtocolViolation(String message) {
        protocolViolation(message);
    }

    private void protocolViolation(String message) {
        if (closed) {
            return;
        }
        log.info("session {}: closing: {}", info.sessionId(), message);
        failAll(new ProtocolError("08P01", 0, message, null));
        toClient.flushRange();
        client.writeAndFlush(PgOut.error(client.alloc(), "FATAL", "08P01", message)).addListener(ChannelFutureListener.CLOSE);
        shutdown();
    }

    // ------------------------------------------------------------------ backend -> client

    @Override
    public void fromBackend(ByteBuf buf, int idx, int size) {
        if (closed) {
            return;
        }
        if (outputPaused) {
            outWaiting.add(buf.retainedSlice(idx, size));
            outWaitingBytes += size;
            if (outWaitingBytes >= PAUSED_READ_LIMIT) {
                updateBackendAutoRead();
            }
            return;
        }
        int type = buf.getByte(idx);
        Object head = expect.peekFirst();
        Stmt st = head instanceof Stmt s ? s : null;
        if (st != null && (st.hidden || st.elevationPrefix || st.setTagHeld || (type == 'C' && st.request != null
                && !st.extended() && st.elevated)) && elevationMessage(st, type, buf, idx, size)) {
            return;
        }
        switch (type) {
            case 'D' -> {
                if (st != null) {
                    if (st.observer != null && !st.columnsChecked) {
                        checkColumns(st);
                    }
                    if (st.blocked) {
                        return;
                    }
                    st.rows++;
                    st.bytes += size;
                    if (st.observer != null) {
                        st.observer.onRow(buf.slice(idx + 5, size - 5));
                    }
                }
                forward(buf, idx, size);
            }
            case 'T' -> rowDescription(head, st, buf, idx, size);
            case 'C' -> {
                if (st == null) {
                    forward(buf, idx, size);
                    return;
                }
                if (st.observer != null && !st.columnsChecked && st.columns == null) {
                    st.columns = columnsFor(st);
                    if (st.columns != null) {
                        checkColumns(st);
                    }
                }
                String tag = PgOut.readCString(buf, idx + 5);
                st.addTag(tag);
                st.bytes += size;
                if (st.extended()) {
                    finish(st, null, !st.blocked, buf, idx, size);
                    if (st.blocked) {
                        discardUntilReady = true;
                    }
                } else if (!st.blocked) {
                    forward(buf, idx, size);
                }
            }
            case 'I' -> {
                if (st != null && st.extended()) {
                    finish(st, null, true, buf, idx, size);
                } else {
                    forward(buf, idx, size);
                }
            }
            case 's' -> {
                if (st != null && st.extended()) {
                    expect.pollFirst();
                    suspended.put(st.portal, st);
                }
                forward(buf, idx, size);
            }
            case 'd' -> {
                if (st != null) {
                    st.rows++;
                    st.bytes += size;
                }
                forward(buf, idx, size);
            }
            case 'E' -> errorResponse(head, st, buf, idx, size);
            case 'Z' -> readyForQuery(st, buf, idx, size);
            case '1', '2', '3' -> {
                Object e = expect.pollFirst();
                if (e != Expect.SWALLOW_PARSE && e != Expect.SWALLOW_BIND && e != Expect.SWALLOW_CLOSE) {
                    forward(buf, idx, size);
                }
            }
            case 'n' -> {
                if (head instanceof Describe) {
                    expect.pollFirst();
                }
                forward(buf, idx, size);
            }
            default -> forward(buf, idx, size); // N, A, S, t, G, H, W, c, V, v
        }
    }

    private void forward(ByteBuf buf, int idx, int size) {
        if (!discardUntilReady) {
            toClient.add(buf, idx, size);
        }
    }

    @Override
    public void backendBytes(int n) {
        metrics.bytesOut.increment(n);
    }

    @Override
    public void backendBatchEnd() {
        toClient.flushRange();
    }

    @Override
    public void backendReadComplete() {
        if (outputPaused) {
            // What was forwarded before the paused final message (at most one read's worth) leaves with it
            // when the pause ends: one write to the client per statement instead of two.
            return;
        }
        client.flush();
        if (!client.isWritable()) {
            updateBackendAutoRead();
        }
    }

    private void rowDescription(Object head, Stmt st, ByteBuf buf, int idx, int size) {
        if (head instanceof Describe d) {
            expect.pollFirst();
            byte[] raw = ByteBufUtil.getBytes(buf, idx + 5, size - 5);
            if (d.portal()) {
                Portal p = portals.get(d.name());
                if (p != null) {
                    p.columns = raw;
                }
                // Pipelined Describe(portal) then Execute: check the columns before any of them leave.
                Object next = expect.peekFirst();
                if (next instanceof Stmt s && d.name().equals(s.portal) && s.observer != null && !s.columnsChecked) {
                    s.columns = raw;
                    checkColumns(s);
                    if (s.blocked) {
                        return;
                    }
                }
            } else {
                Prepared ps = statements.get(d.name());
                if (ps != null) {
                    ps.columns()[0] = raw;
                }
            }
            forward(buf, idx, size);
            return;
        }
        if (st != null) {
            st.bytes += size;
            if (st.blocked) {
                return; // a refused result ends the query string for the client, as an error would
            }
            if (st.observer != null) {
                st.columns = sameAsLastColumns(buf, idx + 5, size - 5) ? lastColumnsRaw : ByteBufUtil.getBytes(buf, idx + 5, size - 5);
                st.columnsChecked = false;
                checkColumns(st);
                if (st.blocked) {
                    return;
                }
            }
        }
        forward(buf, idx, size);
    }

    private byte[] columnsFor(Stmt st) {
        if (st.portal == null) {
            return null;
        }
        Portal p = portals.get(st.portal);
        if (p == null) {
            return null;
        }
        if (p.columns != null) {
            return p.columns;
        }
        Prepared ps = statements.get(p.statement);
        return ps == null ? null : ps.columns()[0];
    }

    /** Shows the result's columns to the observer; on refusal the client gets the error instead of any row. */
    private void checkColumns(Stmt st) {
        st.columnsChecked = true;
        if (st.columns == null) {
            st.columns = columnsFor(st);
        }
        if (st.columns == null) {
            return;
        }
        ProtocolError refusal;
        try {
            refusal = st.observer.onColumns(reusedColumns(st.columns));
        } catch (RuntimeException e) {
            log.error("session {}: result observer failed; withholding the result", info.sessionId(), e);
            refusal = new ProtocolError("XX000", 1105, "Countersign could not check this result's columns; "
                    + "the rows were withheld (fail closed); see the Countersign log", null);
        }
        if (refusal != null) {
            st.blocked = true;
            st.error = refusal;
            toClient.write(PgOut.error(client.alloc(), "ERROR", refusal));
        }
    }

    /**
     * The last RowDescription this session showed an observer, and the columns made from it: while the
     * backend describes results the same way (every execution of a prepared statement, the same query
     * again), observers get the same {@link ReusedColumns} and may reuse what they derived from it.
     */
    private byte[] lastColumnsRaw;
    private ByteBuf lastColumnsBuf;
    private ReusedColumns lastColumns;

    private boolean sameAsLastColumns(ByteBuf buf, int idx, int len) {
        return lastColumnsRaw != null && lastColumnsRaw.length == len && ByteBufUtil.equals(buf, idx, lastColumnsBuf, 0, len);
    }

    private ReusedColumns reusedColumns(byte[] raw) {
        if (raw != lastColumnsRaw && (lastColumnsRaw == null || !java.util.Arrays.equals(raw, lastColumnsRaw))) {
            lastColumns = new ReusedColumns(parseColumns(raw));
            lastColumnsRaw = raw;
            lastColumnsBuf = Unpooled.wrappedBuffer(raw);
        }
        return lastColumns;
    }

    static List<ResultColumn> parseColumns(byte[] raw) {
        ByteBuf b = Unpooled.wrappedBuffer(raw);
        int n = b.readUnsignedShort();
        List<ResultColumn> cols = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int end = b.indexOf(b.readerIndex(), b.writerIndex(), (byte) 0);
            String name = b.toString(b.readerIndex(), end - b.readerIndex(), StandardCharsets.UTF_8);
            b.readerIndex(end + 1);
            int table = b.readInt();
            int attnum = b.readShort();
            b.skipBytes(4 + 2 + 4 + 2);
            cols.add(new ResultColumn(name, table, attnum, null, null, null));
        }
        return cols;
    }

    private void errorResponse(Object head, Stmt st, ByteBuf buf, int idx, int size) {
        ProtocolError error = parseError(buf, idx, size);
        if (head == null || head == Expect.SYNC) {
            forward(buf, idx, size); // e.g. a commit failing at Sync, or the server shutting down
            return;
        }
        if (st != null && !st.extended()) {
            // Simple query: the error ends the query string; ReadyForQuery completes the statement.
            st.bytes += size;
            if (st.error == null) {
                st.error = ownError(st, error);
            }
            if (!st.blocked) {
                forward(buf, idx, size);
            }
            return;
        }
        // Extended protocol: the backend now skips to Sync; statements queued before it never run.
        boolean sent = false;
        while (!expect.isEmpty() && expect.peekFirst() != Expect.SYNC) {
            Object e = expect.peekFirst();
            if (e instanceof Stmt s) {
                if (!sent) {
                    s.bytes += size;
                    ProtocolError own = s.error != null ? s.error : ownError(s, error);
                    finish(s, own, !s.blocked, buf, idx, size);
                    sent = true;
                } else {
                    expect.pollFirst();
                    complete(s, error, null);
                }
            } else {
                expect.pollFirst();
            }
        }
        if (!sent) {
            // An error at Parse or Bind while the statement's Execute was still at the gate: the backend
            // now skips to Sync, so that statement ends with this error, not with a missing result.
            skippedError = error;
            forward(buf, idx, size);
        }
    }

    /**
     * The error a statement ended with: for a denial raised on the backend, the gate's own error
     * (unless the backend refused even that, e.g. 25P02 in a failed transaction); else the backend's.
     */
    private static ProtocolError ownError(Stmt st, ProtocolError fromBackend) {
        if (st.forcedError != null && st.forcedError.sqlState().equals(fromBackend.sqlState())) {
            return st.forcedError;
        }
        return fromBackend;
    }

    private void readyForQuery(Stmt st, ByteBuf buf, int idx, int size) {
        txStatus = (char) buf.getByte(idx + 5);
        discardUntilReady = false;
        ProtocolError skipped = skippedError;
        skippedError = null;
        if (st != null && !st.extended()) {
            finish(st, null, true, buf, idx, size);
        } else {
            while (!expect.isEmpty()) {
                Object e = expect.pollFirst();
                if (e == Expect.SYNC) {
                    break;
                }
                if (e instanceof Stmt s) {
                    complete(s, skipped != null ? skipped
                            : new ProtocolError("08P01", 0, "the backend ended the statement without a result", null), null);
                }
            }
            forward(buf, idx, size);
        }
        if (txStatus == 'I' && !suspended.isEmpty()) {
            for (Stmt s : suspended.values()) {
                complete(s, null, null);
            }
            suspended.clear();
        }
    }

    private void finishSuspended(String portal) {
        Stmt s = suspended.remove(portal);
        if (s != null) {
            complete(s, null, null);
        }
    }

    /**
     * Completes the statement at the head of the queue with its last message: forwards that message
     * (when {@code send}) at once, or once the listener's durability stage completes.
     */
    private void finish(Stmt st, ProtocolError error, boolean send, ByteBuf buf, int idx, int size) {
        expect.pollFirst();
        CompletionStage<Void> stage = complete(st, error, null);
        if (!send || discardUntilReady) {
            return;
        }
        if (stage == null || (isDone(stage) && !failed(stage))) {
            toClient.add(buf, idx, size);
            return;
        }
        toClient.flushRange();
        outputPaused = true;
        pausedFinal = buf.retainedSlice(idx, size);
        updateBackendAutoRead();
        stage.whenComplete((v, t) -> client.eventLoop().execute(() -> {
            if (t == null) {
                resumeOutput();
            } else {
                recordFailed(t);
            }
        }));
    }

    private static boolean failed(CompletionStage<Void> stage) {
        try {
            return stage.toCompletableFuture().isCompletedExceptionally();
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }

    /**
     * The listener could not make the statement's record durable: the statement ran but must not be
     * acknowledged. The agent gets a FATAL error in place of the final message and the session ends,
     * as if the connection had dropped: the outcome is unknown to it, never falsely reported.
     */
    private void recordFailed(Throwable t) {
        if (!outputPaused) {
            return;
        }
        outputPaused = false;
        if (pausedFinal != null) {
            pausedFinal.release();
            pausedFinal = null;
        }
        if (closed) {
            return;
        }
        Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        log.error("session {}: the statement's record could not be made durable ({}); closing the session unacknowledged",
                info.sessionId(), cause.toString());
        toClient.write(PgOut.error(client.alloc(), "FATAL", new ProtocolError("58030", 0,
                "Countersign cannot write its audit trail, so it cannot confirm this statement (" + cause.getMessage()
                        + "): the session is closed and the statement's outcome is unknown."
                        + " Check its effect before retrying, and ask the operator to fix the audit storage", null)));
        client.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(io.netty.channel.ChannelFutureListener.CLOSE);
        shutdown();
    }

    private static boolean isDone(CompletionStage<Void> stage) {
        try {
            return stage.toCompletableFuture().isDone();
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }

    private void resumeOutput() {
        if (!outputPaused) {
            return;
        }
        outputPaused = false;
        ByteBuf fin = pausedFinal;
        pausedFinal = null;
        if (closed) {
            fin.release();
            return;
        }
        toClient.write(fin);
        while (!outputPaused && !closed && !outWaiting.isEmpty()) {
            ByteBuf m = outWaiting.poll();
            outWaitingBytes -= m.readableBytes();
            try {
                fromBackend(m, m.readerIndex(), m.readableBytes());
                toClient.flushRange();
            } finally {
                m.release();
            }
        }
        client.flush();
        updateBackendAutoRead();
    }

    /** Emits the statement's one completion event and records metrics. */
    private CompletionStage<Void> complete(Stmt st, ProtocolError error, Instant ended) {
        if (st.hidden) {
            return null; // Countersign's own role switch: the client's statement is the one reported
        }
        ProtocolError err = error != null ? error : st.error != null ? st.error : st.forcedError;
        long nanos = System.nanoTime() - st.startedNanos;
        Instant end = ended != null ? ended : st.started.plusNanos(nanos);
        metrics.statements.increment();
        if (err != null) {
            metrics.statementErrors.increment();
        }
        metrics.latency.record(nanos, TimeUnit.NANOSECONDS);
        StatementCompletion c = new StatementCompletion(st.request, st.context, st.started, end,
                err == null ? st.tag : null, st.rows, st.affected, st.bytes, err);
        try {
            return settings.listener().onCompleted(c);
        } catch (RuntimeException e) {
            log.error("session {}: statement listener failed", info.sessionId(), e);
            return null;
        }
    }

    static ProtocolError parseError(ByteBuf buf, int idx, int size) {
        String code = "XX000";
        String message = "";
        String detail = null;
        int p = idx + 5;
        int end = idx + size;
        while (p < end) {
            byte field = buf.getByte(p++);
            if (field == 0) {
                break;
            }
            int z = buf.indexOf(p, end, (byte) 0);
            if (z < 0) {
                break;
            }
            String v = buf.toString(p, z - p, StandardCharsets.UTF_8);
            switch (field) {
                case 'C' -> code = v;
                case 'M' -> message = v;
                case 'D' -> detail = v;
                default -> { }
            }
            p = z + 1;
        }
        return new ProtocolError(code, 0, message, detail);
    }

    // ------------------------------------------------------------------ teardown

    /** The client went away: withdraw a held statement, drop queued input, close the backend. */
    void clientClosed() {
        if (closed) {
            return;
        }
        if (hold != null) {
            Hold h = hold;
            hold = null;
            h.outcome().completeExceptionally(new StatementWithdrawnException(StatementWithdrawnException.Reason.DISCONNECTED));
            h.message().release();
            complete(h.stmt(), ProtocolError.cancelled("the client disconnected while the statement was held for approval"), null);
        }
        failAll(new ProtocolError("08006", 0, "the client disconnected before the statement completed", null));
        if (backend != null && backend.isActive()) {
            toBackend.flushRange();
            backend.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
        shutdown();
    }

    /** The backend connection ended while the client was still there. */
    @Override
    public void backendClosed() {
        if (closed) {
            return;
        }
        if (terminating) {
            // The client said Terminate and the backend closed in answer: end quietly, as PostgreSQL does.
            client.close();
            shutdown();
            return;
        }
        backendFailed("the backend " + describeBackend() + " closed the connection unexpectedly"
                + (backendReady ? "; the session's transaction, if any, was lost: reconnect and retry" : " during login"), null);
    }

    private void failAll(ProtocolError error) {
        while (!expect.isEmpty()) {
            if (expect.pollFirst() instanceof Stmt s) {
                complete(s, error, null);
            }
        }
        for (Stmt s : suspended.values()) {
            complete(s, error, null);
        }
        suspended.clear();
    }

    private void shutdown() {
        closed = true;
        if (elevatedRun != null) {
            elevatedRun.abandon();
            elevatedRun = null;
        }
        cancels.unregister(key);
        releaseAll(waiting);
        releaseAll(outWaiting);
        outWaitingBytes = 0;
        if (pausedFinal != null) {
            pausedFinal.release();
            pausedFinal = null;
        }
        if (hold != null) {
            hold.message().release();
            hold.outcome().completeExceptionally(new StatementWithdrawnException(StatementWithdrawnException.Reason.DISCONNECTED));
            hold = null;
        }
        if (backend != null) {
            backend.eventLoop().execute(() -> {
                if (backend.isActive()) {
                    backend.flush();
                    backend.close();
                }
            });
        }
    }

    private static void releaseAll(ArrayDeque<ByteBuf> q) {
        ByteBuf b;
        while ((b = q.poll()) != null) {
            b.release();
        }
    }

    @Override
    public boolean closed() {
        return closed;
    }

    Iterator<Object> expectations() {
        return expect.iterator();
    }
}
