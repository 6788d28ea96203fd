package io.countersign.wire.mysql;

import io.countersign.wire.net.BackendConnector;
import io.countersign.wire.spi.AgentAuthenticator;
import io.countersign.wire.spi.AgentCredential;
import io.countersign.wire.spi.BackendTarget;
import io.countersign.wire.spi.BoundParameter;
import io.countersign.wire.spi.GateDecision;
import io.countersign.wire.spi.Protocol;
import io.countersign.wire.spi.ProtocolError;
import io.countersign.wire.spi.ResultColumn;
import io.countersign.wire.spi.ResultObserver;
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
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent connection: the handshake and Countersign's own authentication, then the command
 * phase, relaying each command to the session's backend connection after the gate allowed it and
 * each response back, packet by packet. All state lives on the client channel's event loop (the
 * backend channel shares it).
 */
final class ClientSession extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

    static final int COM_QUIT = 0x01, COM_INIT_DB = 0x02, COM_QUERY = 0x03, COM_FIELD_LIST = 0x04,
            COM_STATISTICS = 0x09, COM_PROCESS_INFO = 0x0a, COM_PROCESS_KILL = 0x0c, COM_DEBUG = 0x0d, COM_PING = 0x0e,
            COM_CHANGE_USER = 0x11, COM_STMT_PREPARE = 0x16, COM_STMT_EXECUTE = 0x17, COM_STMT_SEND_LONG_DATA = 0x18,
            COM_STMT_CLOSE = 0x19, COM_STMT_RESET = 0x1a, COM_SET_OPTION = 0x1b, COM_STMT_FETCH = 0x1c,
            COM_RESET_CONNECTION = 0x1f;

    private static final int PRE_AUTH_MAX = 64 * 1024;
    private static final int QUEUE_PAUSE = 16;
    private static final int BATCH_SIZE = 64 * 1024;
    private static final int BATCH_COPY_BELOW = 8 * 1024;
    /**
     * The smallest outgoing batch. A batch is sized to the backend read it comes from (see
     * {@link #batchHint}), not to {@link #BATCH_SIZE}: with a small heap Netty's adaptive allocator
     * does not pool buffers above 16 KiB, and a fresh, zeroed 64 KiB direct buffer for every
     * one-row answer cost more than the rest of relaying it.
     */
    private static final int BATCH_MIN = 512;

    private enum Phase { HANDSHAKE, AUTH, CONNECTING, COMMAND, CLOSED }

    private final MySqlListener listener;
    private final MySqlListener.Settings settings;
    final long connectionId;
    private final PacketDecoder decoder;
    private Channel client;
    private Phase phase = Phase.HANDSHAKE;
    private int seq;
    private byte[] nonce;
    private boolean tls;
    private int capabilities;
    private int charset = BackendLogin.CHARSET_UTF8MB4;
    private String user;
    private String database;
    private Map<String, String> attributes = Map.of();
    private AgentAuth auth;
    private AgentCredential.BearerToken tokenCredential;
    private boolean changingUser;
    private String announcedPlugin;
    private ScheduledFuture<?> loginTimeout;

    private volatile SessionInfo session;
    private volatile BackendTarget target;
    private Channel backend;
    private volatile long backendThreadId;
    private int serverStatus = Capabilities.STATUS_AUTOCOMMIT;

    private final ArrayDeque<Packet> queue = new ArrayDeque<>();
    private InFlight inflight;
    private Held held;
    private boolean awaitingDurability;
    private final Map<Long, PreparedStatement> statements = new HashMap<>();
    private PreparedStatement lastPrepared;
    private ByteBuf batch;
    /** Capacity for the next outgoing batch: the bytes of the backend read being relayed, within bounds. */
    private int batchHint = BATCH_MIN;
    /**
     * Writes not yet flushed, per side: every read ends with a flush of both, and most of those
     * find nothing to flush (the answer went out with its last packet); skip the pipeline walk then.
     */
    private boolean clientUnflushed, backendUnflushed;

    ClientSession(MySqlListener listener, long connectionId) {
        this.listener = listener;
        this.settings = listener.settings();
        this.connectionId = connectionId;
        this.decoder = new PacketDecoder(PRE_AUTH_MAX);
    }

    PacketDecoder decoder() {
        return decoder;
    }

    long backendThreadId() {
        return backendThreadId;
    }

    String agent() {
        SessionInfo s = session;
        return s == null ? null : s.agent();
    }

    // ------------------------------------------------------------------ handshake and authentication

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        client = ctx.channel();
        listener.register(this);
        nonce = Scramble.nonce();
        ByteBuf g = ctx.alloc().buffer(128);
        int offered = offeredCapabilities();
        g.writeByte(10);
        Wire.writeNulString(g, listener.serverVersion());
        g.writeIntLE((int) connectionId);
        g.writeBytes(nonce, 0, 8).writeByte(0);
        g.writeShortLE(offered & 0xFFFF).writeByte(BackendLogin.CHARSET_UTF8MB4).writeShortLE(Capabilities.STATUS_AUTOCOMMIT);
        g.writeShortLE(offered >>> 16).writeByte(21).writeZero(10);
        g.writeBytes(nonce, 8, 12).writeByte(0);
        announcedPlugin = listener.announcedPlugin();
        Wire.writeNulString(g, announcedPlugin);
        seq = 0;
        send(g);
        flushClient();
        decoder.expect(seq);
        loginTimeout = client.eventLoop().schedule(() -> {
            if (phase != Phase.COMMAND && phase != Phase.CLOSED) {
                fatal(1043, "08S01", "Bad handshake: the client did not finish logging in within "
                        + settings.loginTimeout().toMillis() + " ms; check the driver's TLS and authentication settings");
            }
        }, settings.loginTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    private int offeredCapabilities() {
        return Capabilities.OFFERED | (settings.tls() != null ? Capabilities.SSL : 0);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof FrameError e) {
            frameError(e);
            return;
        }
        if (!(msg instanceof Packet p)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (phase == Phase.CLOSED) {
            p.release();
            return;
        }
        if (phase == Phase.COMMAND || phase == Phase.CONNECTING) {
            queue.add(p);
            if (queue.size() > QUEUE_PAUSE) {
                client.config().setAutoRead(false);
            }
            drain();
            return;
        }
        try {
            seq = (p.lastSequenceId() + 1) & 0xFF;
            if (phase == Phase.HANDSHAKE) {
                handshakeResponse(ctx, p.payload());
            } else {
                authStep(auth.next(p.payload()));
            }
        } catch (Wire.Truncated | IndexOutOfBoundsException e) {
            fatal(1043, "08S01", "Bad handshake: the client's login packet is malformed (" + e.getMessage()
                    + "); this port speaks the MySQL protocol");
        } finally {
            p.release();
        }
    }

    private void frameError(FrameError e) {
        switch (e) {
            case FrameError.OutOfOrder o when phase == Phase.HANDSHAKE || phase == Phase.AUTH ->
                    fatal(1043, "08S01", "Bad handshake: expected a MySQL login packet with sequence id " + o.expected()
                            + " but got " + o.actual() + "; this port speaks the MySQL protocol");
            case FrameError.OutOfOrder o -> fatal(1156, "08S01", "Got packets out of order: expected sequence id "
                    + o.expected() + ", got " + o.actual() + "; the client must start each command at sequence id 0");
            case FrameError.TooLarge t when phase == Phase.HANDSHAKE || phase == Phase.AUTH ->
                    fatal(1043, "08S01", "Bad handshake: a login packet of " + t.length() + " bytes is longer than the "
                            + t.limit() + " allowed before authentication");
            case FrameError.TooLarge t -> fatal(1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes ("
                    + t.length() + " > " + t.limit() + "); send less or raise maxAllowedPacket on Countersign's MySQL listener");
        }
    }

    private void handshakeResponse(ChannelHandlerContext ctx, ByteBuf b) {
        Wire.need(b, 32, "the handshake response");
        int caps = b.readIntLE();
        b.skipBytes(4);
        charset = b.readUnsignedByte();
        b.skipBytes(23);
        if ((caps & Capabilities.PROTOCOL_41) == 0) {
            fatal(1043, "08S01", "Bad handshake: the client does not speak protocol 4.1; use a MySQL 4.1 or newer driver");
            return;
        }
        if (!b.isReadable() && (caps & Capabilities.SSL) != 0 && !tls) {
            if (settings.tls() == null) {
                fatal(1043, "08S01", "Bad handshake: the client asked for TLS and this listener has no TLS configured");
                return;
            }
            // the client sends its TLS ClientHello right behind the SSLRequest, often in the same read:
            // those bytes must go through the new SslHandler, not the packet framer
            ByteBuf early = decoder.takeUndecoded();
            client.config().setAutoRead(false);
            SslHandler ssl = settings.tls().newHandler(ctx.alloc());
            ctx.pipeline().addFirst("tls", ssl);
            tls = true;
            decoder.expect(seq);
            client.eventLoop().execute(() -> {
                if (early.isReadable() && client.isActive()) {
                    client.pipeline().fireChannelRead(early);
                    client.pipeline().fireChannelReadComplete();
                } else {
                    early.release();
                }
                client.config().setAutoRead(true);
            });
            return;
        }
        if (settings.requireTls() && !tls) {
            fatal(3159, "HY000", "Connections using insecure transport are prohibited: Countersign's MySQL listener requires TLS; "
                    + "enable SSL in the driver (e.g. sslMode=REQUIRED)");
            return;
        }
        capabilities = caps & offeredCapabilities();
        user = Wire.readNulString(b);
        byte[] response;
        if ((caps & Capabilities.PLUGIN_AUTH_LENENC_CLIENT_DATA) != 0) {
            response = Wire.readLenencBytes(b);
        } else if ((caps & Capabilities.SECURE_CONNECTION) != 0) {
            Wire.need(b, 1, "the auth response length");
            response = Wire.readBytes(b, b.readUnsignedByte(), "the auth response");
        } else {
            response = Wire.readNulString(b).getBytes(StandardCharsets.UTF_8);
        }
        database = null;
        if ((caps & Capabilities.CONNECT_WITH_DB) != 0 && b.isReadable()) {
            database = Wire.readNulStringOrRest(b);
            if (database.isEmpty()) {
                database = null;
            }
        }
        String plugin = null;
        if ((caps & Capabilities.PLUGIN_AUTH) != 0 && b.isReadable()) {
            plugin = Wire.readNulStringOrRest(b);
        }
        if ((caps & Capabilities.CONNECT_ATTRS) != 0 && b.isReadable()) {
            long total = Wire.readLenenc(b);
            Wire.need(b, (int) total, "the connection attributes");
            ByteBuf attrs = b.readSlice((int) total);
            Map<String, String> m = new LinkedHashMap<>();
            while (attrs.isReadable()) {
                String k = Wire.readLenencString(attrs);
                String v = Wire.readLenencString(attrs);
                m.put(k, v);
            }
            attributes = m;
        }
        if (refusedTokenTransport(user)) {
            return;
        }
        auth = newAuth(user);
        phase = Phase.AUTH;
        authStep(auth.first(plugin, response));
    }

    private AgentAuth newAuth(String agent) {
        byte[] password = null;
        AgentCredential cred = settings.authenticator().credentialFor(agent).orElse(null);
        if (cred instanceof AgentCredential.Password pw) {
            password = pw.password().getBytes(StandardCharsets.UTF_8);
        }
        tokenCredential = cred instanceof AgentCredential.BearerToken b ? b : null;
        return new AgentAuth(agent, password, settings.authPlugins(), announcedPlugin, nonce, tls,
                listener.rsaKeys(), listener.sha2Cache(), tokenCredential != null);
    }

    /** A token travels in clear (mysql_clear_password): refuse before asking for it on a connection without TLS. */
    private boolean refusedTokenTransport(String agent) {
        if (settings.authenticator().credentialFor(agent).orElse(null) instanceof AgentCredential.BearerToken b
                && !b.acceptsTransport(tls, client.remoteAddress())) {
            log.warn("mysql session {}: agent '{}' tried to send its token without TLS; refused", connectionId, agent);
            fatal(1045, "28000", "Access denied for user '" + agent + "': it authenticates with a token, which Countersign accepts "
                    + "only over TLS; enable SSL in the client (--ssl / sslMode=REQUIRED), or allow plaintext tokens on loopback "
                    + "in identity.agent-tokens");
            return true;
        }
        return false;
    }

    /** Verification may fetch the provider's key set: it runs off the event loop; the login resumes here. */
    private void verifyToken(String token) {
        AgentCredential.BearerToken bearer = tokenCredential;
        client.config().setAutoRead(false);
        java.util.concurrent.CompletionStage<io.countersign.wire.spi.TokenVerifier.Result> check;
        try {
            check = bearer.verifier().verify(user, token);
        } catch (RuntimeException e) {
            check = CompletableFuture.completedFuture(
                    new io.countersign.wire.spi.TokenVerifier.Result.Refused("the token could not be verified (" + e.getMessage() + ")"));
        }
        AgentAuth current = auth;
        check.whenComplete((result, error) -> client.eventLoop().execute(() -> {
            if (phase != Phase.AUTH || auth != current) {
                return;
            }
            client.config().setAutoRead(true);
            switch (result) {
                case io.countersign.wire.spi.TokenVerifier.Result.Accepted a when error == null -> authStep(new AgentAuth.Step.Accept(null));
                case io.countersign.wire.spi.TokenVerifier.Result.Refused r when error == null -> authStep(new AgentAuth.Step.Reject(r.reason()));
                case null, default -> authStep(new AgentAuth.Step.Reject("the token could not be verified ("
                        + (error == null ? "no answer" : error.getMessage()) + ")"));
            }
        }));
    }

    private void authStep(AgentAuth.Step step) {
        switch (step) {
            case AgentAuth.Step.Send s -> {
                send(Unpooled.wrappedBuffer(s.payload()));
                flushClient();
                decoder.expect(seq);
            }
            case AgentAuth.Step.Reject r -> {
                listener.authFailed();
                String host = client.remoteAddress() instanceof InetSocketAddress a ? a.getAddress().getHostAddress() : "unknown";
                if (r.reason() != null) {
                    // the reason may quote the token's claims: it goes to the client, the log names only the user
                    log.info("mysql session {}: agent token refused for user '{}'", connectionId, user);
                }
                fatal(1045, "28000", "Access denied for user '" + user + "'@'" + host + "' ("
                        + (r.reason() != null ? "token authentication failed: " + r.reason() : "using password: YES") + ")");
            }
            case AgentAuth.Step.Token t -> verifyToken(t.token());
            case AgentAuth.Step.Accept a -> {
                if (a.before() != null) {
                    send(Unpooled.wrappedBuffer(a.before()));
                }
                flushClient();
                connectBackend();
            }
        }
    }

    private void connectBackend() {
        phase = Phase.CONNECTING;
        decoder.expect(0);
        client.config().setAutoRead(false);
        AgentAuthenticator.Route route;
        try {
            route = settings.authenticator().route(user, database);
        } catch (RuntimeException e) {
            route = new AgentAuthenticator.Route.Refused(new ProtocolError("HY000", 1105,
                    "Countersign could not route agent '" + user + "': " + e.getMessage(), null));
        }
        switch (route) {
            case AgentAuthenticator.Route.Refused r -> {
                sendError(r.error());
                close();
            }
            case AgentAuthenticator.Route.Local l -> {
                // a database Countersign serves itself speaks only the PostgreSQL protocol
                l.database().close();
                sendError(new ProtocolError("42000", 1044, "database '" + database + "' is served only over Countersign's PostgreSQL listener",
                        "connect to it with a PostgreSQL client (psql, pgjdbc)"));
                close();
            }
            case AgentAuthenticator.Route.Backend b -> {
                BackendTarget t = b.target();
                target = t;
                if (database == null) {
                    // routed without a database name (the agent's only backend): the session is on that
                    // backend under its name, and the backend's database is the current one
                    database = t.name();
                }
                String db = t.database() != null ? t.database() : database;
                BackendLogin login = new BackendLogin(t, db, capabilities, charset, settings.backendAuthPlugin());
                Bootstrap bs = new Bootstrap().group(client.eventLoop())
                        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) settings.backendConnectTimeout().toMillis())
                        .option(ChannelOption.WRITE_BUFFER_WATER_MARK, MySqlListener.WATER_MARK)
                        .handler(new ChannelInitializer<>() {
                            @Override
                            protected void initChannel(Channel ch) {
                                ch.pipeline().addLast("framer", new PacketDecoder(Long.MAX_VALUE));
                                ch.pipeline().addLast("encoder", PacketEncoder.INSTANCE);
                                ch.pipeline().addLast("backend", new BackendHandler(ClientSession.this, login,
                                        listener.backendTls(t), t.host(), t.port()));
                            }
                        });
                SocketAddress address = BackendConnector.prepare(bs, t, listener.clientChannelType());
                bs.connect(address).addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        backendFailed(f.channel(), new ProtocolError("08S01", 2003, "Can't connect to backend '" + t.name()
                                + "' on '" + t.where() + "' (" + f.cause().getMessage()
                                + "); check that the database is up and that Countersign's target for it is right", null));
                    } else if (phase == Phase.CLOSED) {
                        f.channel().close();
                    } else {
                        backend = f.channel();
                    }
                });
            }
        }
    }

    void backendReady(Channel ch, BackendLogin login) {
        if (phase == Phase.CLOSED) {
            ch.close();
            return;
        }
        if (elevation != null && ch == elevation.channel()) {
            elevatedReady(ch);
            return;
        }
        backend = ch;
        backendThreadId = login.threadId;
        serverStatus = login.serverStatus;
        listener.learnServerVersion(login.serverVersion);
        session = new SessionInfo("mysql-" + connectionId, Protocol.MYSQL, user, database, client.remoteAddress(), attributes);
        changingUser = false;
        phase = Phase.COMMAND;
        if (loginTimeout != null) {
            loginTimeout.cancel(false);
        }
        decoder.maxPayload(settings.maxAllowedPacket());
        decoder.expect(0);
        decoder.decodeAllAtOnce();
        send(ServerPackets.ok(client.alloc(), 0, 0, serverStatus, 0));
        flushClient();
        client.config().setAutoRead(true);
        drain();
    }

    void backendFailed(Channel ch, ProtocolError error) {
        if (elevation != null && ch == elevation.channel() && ch != backend) {
            elevationFailed(ch, error);
            return;
        }
        if (ch != null && ch != backend && backend != null) {
            ch.close();
            return;
        }
        log.info("mysql session {}: backend login failed: {}", connectionId, error.message());
        if (phase != Phase.CLOSED) {
            sendError(error);
            close();
        }
    }

    // ------------------------------------------------------------------ command phase

    private void drain() {
        while (phase == Phase.COMMAND && inflight == null && held == null && elevation == null && !awaitingDurability
                && !queue.isEmpty()) {
            Packet p = queue.poll();
            try {
                dispatch(p);
            } catch (Wire.Truncated | IndexOutOfBoundsException e) {
                p.release();
                fatal(1835, "HY000", "Malformed communication packet: the client's command is cut short ("
                        + e.getMessage() + "); the connection is closed");
                return;
            }
        }
        if (backend != null && backendUnflushed) {
            backendUnflushed = false;
            backend.flush();
        }
        if (phase != Phase.CLOSED && queue.size() <= QUEUE_PAUSE / 2 && !client.config().isAutoRead()
                && (backend == null || backend.isWritable())) {
            client.config().setAutoRead(true);
        }
    }

    private void dispatch(Packet p) {
        seq = (p.lastSequenceId() + 1) & 0xFF;
        ByteBuf payload = p.payload();
        if (!payload.isReadable()) {
            p.release();
            fatal(1835, "HY000", "Malformed communication packet: an empty command packet");
            return;
        }
        int command = payload.getUnsignedByte(payload.readerIndex());
        switch (command) {
            case COM_QUIT -> {
                p.release();
                close();
            }
            case COM_QUERY -> {
                String sql = payload.toString(payload.readerIndex() + 1, payload.readableBytes() - 1, StandardCharsets.UTF_8);
                KillStatement kill = KillStatement.parse(sql);
                gate(new Pending(p, command, request(sql, List.of(), false), null, kill));
            }
            case COM_PROCESS_KILL -> {
                Wire.need(payload, 5, "COM_PROCESS_KILL");
                long id = payload.getUnsignedIntLE(payload.readerIndex() + 1);
                p.release();
                String sql = "KILL CONNECTION " + id;
                ByteBuf q = client.alloc().buffer(sql.length() + 1).writeByte(COM_QUERY);
                q.writeCharSequence(sql, StandardCharsets.US_ASCII);
                gate(new Pending(new Packet(0, q), COM_QUERY, request(sql, List.of(), false), null, KillStatement.parse(sql)));
            }
            case COM_STMT_EXECUTE -> {
                long id = ExecuteParameters.statementId(payload);
                PreparedStatement stmt = id == 0xFFFFFFFFL ? lastPrepared : statements.get(id);
                if (stmt == null) {
                    p.release();
                    sendError(new ProtocolError("HY000", 1243, "Unknown prepared statement handler (" + id
                            + ") given to mysqld_stmt_execute; prepare the statement on this connection first", null));
                    flushClient();
                    return;
                }
                List<BoundParameter> params = ExecuteParameters.decode(payload, stmt);
                boolean longData = false;
                for (int i = 0; i < stmt.longData.length; i++) {
                    longData |= stmt.longData[i] > 0;
                    stmt.longData[i] = 0;
                }
                gate(new Pending(p, command, request(stmt.sql, params, true), stmt, null, longData));
            }
            case COM_STMT_PREPARE -> {
                String sql = payload.toString(payload.readerIndex() + 1, payload.readableBytes() - 1, StandardCharsets.UTF_8);
                InFlight f = forward(p, command, ResponseTracker.Shape.PREPARE, null, null, null);
                f.prepareSql = sql;
            }
            case COM_STMT_SEND_LONG_DATA -> {
                Wire.need(payload, 7, "COM_STMT_SEND_LONG_DATA");
                PreparedStatement stmt = statements.get(ExecuteParameters.statementId(payload));
                int param = payload.getUnsignedShortLE(payload.readerIndex() + 5);
                if (stmt != null && param < stmt.paramCount) {
                    stmt.longData[param] += payload.readableBytes() - 7;
                }
                backend.write(new Packet(0, payload));
                backendUnflushed = true;
            }
            case COM_STMT_CLOSE -> {
                long id = ExecuteParameters.statementId(payload);
                PreparedStatement removed = statements.remove(id);
                if (removed != null && removed == lastPrepared) {
                    lastPrepared = null;
                }
                backend.write(new Packet(0, payload));
                backendUnflushed = true;
            }
            case COM_STMT_RESET -> {
                PreparedStatement stmt = statements.get(ExecuteParameters.statementId(payload));
                if (stmt != null) {
                    java.util.Arrays.fill(stmt.longData, 0);
                }
                forward(p, command, ResponseTracker.Shape.SINGLE, null, null, null);
            }
            case COM_STMT_FETCH -> {
                PreparedStatement stmt = statements.get(ExecuteParameters.statementId(payload));
                forward(p, command, ResponseTracker.Shape.FETCH, null, null, stmt == null ? null : stmt.cursorObserver);
            }
            case COM_FIELD_LIST -> forward(p, command, ResponseTracker.Shape.FIELD_LIST, null, null, null);
            case COM_PROCESS_INFO -> forward(p, command, ResponseTracker.Shape.RESULTS, null, null, null);
            case COM_INIT_DB -> {
                InFlight f = forward(p, command, ResponseTracker.Shape.SINGLE, null, null, null);
                f.newDatabase = payload.toString(payload.readerIndex() + 1, payload.readableBytes() - 1, StandardCharsets.UTF_8);
            }
            case COM_PING, COM_STATISTICS, COM_SET_OPTION, COM_DEBUG ->
                    forward(p, command, ResponseTracker.Shape.SINGLE, null, null, null);
            case COM_RESET_CONNECTION -> {
                statements.clear();
                lastPrepared = null;
                forward(p, command, ResponseTracker.Shape.SINGLE, null, null, null);
            }
            case COM_CHANGE_USER -> changeUser(p);
            default -> {
                p.release();
                sendError(new ProtocolError("08S01", 1047, "Unknown command: Countersign does not relay MySQL command 0x"
                        + Integer.toHexString(command) + "; use SQL statements instead", null));
                flushClient();
            }
        }
    }

    private StatementRequest request(String sql, List<BoundParameter> params, boolean extended) {
        return new StatementRequest(session, sql, params, extended, (serverStatus & Capabilities.STATUS_IN_TRANS) != 0);
    }

    /** A statement waiting for the gate's decision. */
    private record Pending(Packet packet, int command, StatementRequest request, PreparedStatement stmt, KillStatement kill,
                           boolean longData) {
        Pending(Packet packet, int command, StatementRequest request, PreparedStatement stmt, KillStatement kill) {
            this(packet, command, request, stmt, kill, false);
        }
    }

    /** A statement the gate deferred; it waits silently on the connection. */
    private record Held(Pending pending, CompletableFuture<GateDecision> outcome, Instant started) {}

    private void gate(Pending pending) {
        GateDecision decision;
        try {
            decision = settings.gate().decide(pending.request());
        } catch (RuntimeException e) {
            decision = new GateDecision.Deny(null, new ProtocolError("HY000", 1105,
                    "Countersign's gate failed on this statement (" + e.getMessage() + "); it was not run", null));
        }
        apply(pending, decision, Instant.now());
    }

    private void apply(Pending pending, GateDecision decision, Instant started) {
        switch (decision) {
            case GateDecision.Allow a when a.runAs() != null && pending.kill() == null -> runElevated(pending, a, started);
            case GateDecision.Allow a -> {
                if (pending.kill() != null) {
                    kill(pending, a, started);
                    return;
                }
                InFlight f = forward(pending.packet(), pending.command(), ResponseTracker.Shape.RESULTS,
                        pending.request(), a.context(), a.observer(), started);
                f.stmt = pending.stmt();
                if (pending.stmt() != null) {
                    pending.stmt().cursorObserver = a.observer();
                }
            }
            case GateDecision.Deny d -> {
                pending.packet().release();
                InFlight f = new InFlight(pending.command(), null, pending.request(), d.context(), null, started);
                inflight = f;
                ProtocolError e = d.error() != null ? d.error() : ProtocolError.denied("Countersign denied the statement");
                f.error = e;
                finish(f, ServerPackets.err(client.alloc(), e));
                discardLongData(pending);
            }
            case GateDecision.Defer d -> {
                Held h = new Held(pending, d.outcome(), started);
                held = h;
                if (d.notice() != null) {
                    log.info("mysql session {} ({}): statement held: {}", connectionId, agent(), d.notice());
                }
                d.outcome().whenComplete((next, error) -> client.eventLoop().execute(() -> resume(h, next, error)));
            }
        }
    }

    // ------------------------------------------------------------------ run-as: one statement on an elevated login

    /** The statement waiting for its elevated backend connection, or running on it. */
    private record Elevation(Pending pending, GateDecision.Allow allow, Instant started, Channel channel, int savedStatus) {}

    private Elevation elevation;
    /** The agent's own backend connection while an elevated statement runs on {@link #backend}. */
    private Channel ownBackend;

    /**
     * Runs one approved statement as an elevated role: on a separate backend connection logged in
     * with the account {@link BackendTarget#elevated()} names for it, closed as soon as the statement's
     * response is complete. The agent's own connection never gains the role, so the next statement
     * runs with the agent's everyday rights whatever happened. The statement runs outside any
     * transaction the agent has open on its own connection (it is its own transaction there).
     */
    private void runElevated(Pending pending, GateDecision.Allow allow, Instant started) {
        BackendTarget.Login login = target.elevated().get(allow.runAs());
        ProtocolError refusal = null;
        if (pending.command() != COM_QUERY) {
            refusal = new ProtocolError("HY000", 1105, "Countersign runs approved statements as role '" + allow.runAs()
                    + "' only when they are sent as text queries; this one came as a prepared statement. Send it without "
                    + "server-side preparation (e.g. useServerPrepStmts=false)", null);
        } else if (login == null) {
            refusal = new ProtocolError("HY000", 1105, "Countersign has no login for role '" + allow.runAs() + "' on backend '"
                    + target.name() + "'; add it under the backend's elevated-roles in the Countersign config. The statement did not run", null);
        }
        if (refusal != null) {
            pending.packet().release();
            InFlight f = new InFlight(pending.command(), null, pending.request(), allow.context(), null, started);
            inflight = f;
            f.error = refusal;
            finish(f, ServerPackets.err(client.alloc(), refusal));
            discardLongData(pending);
            return;
        }
        BackendTarget t = target.as(login);
        String db = database == null ? null : (t.database() != null ? t.database() : database);
        BackendLogin bl = new BackendLogin(t, db, capabilities, charset, settings.backendAuthPlugin());
        Bootstrap bs = new Bootstrap().group(client.eventLoop())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) settings.backendConnectTimeout().toMillis())
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("framer", new PacketDecoder(Long.MAX_VALUE));
                        ch.pipeline().addLast("encoder", PacketEncoder.INSTANCE);
                        ch.pipeline().addLast("backend", new BackendHandler(ClientSession.this, bl, listener.backendTls(t), t.host(), t.port()));
                    }
                });
        var connecting = bs.connect(BackendConnector.prepare(bs, t, listener.clientChannelType()));
        elevation = new Elevation(pending, allow, started, connecting.channel(), serverStatus);
        connecting.addListener((ChannelFutureListener) cf -> {
            if (!cf.isSuccess()) {
                elevationFailed(cf.channel(), new ProtocolError("08S01", 2003, "Countersign could not connect to backend '" + t.name()
                        + "' to run the statement as role '" + allow.runAs() + "' (" + cf.cause().getMessage() + "); it did not run", null));
            }
        });
    }

    /** The elevated connection logged in: the statement goes to it, with the agent's own connection set aside. */
    private void elevatedReady(Channel ch) {
        Elevation e = elevation;
        ownBackend = backend;
        backend = ch;
        Pending p = e.pending();
        InFlight f = forward(p.packet(), p.command(), ResponseTracker.Shape.RESULTS, p.request(), e.allow().context(), e.allow().observer(),
                e.started());
        f.elevated = true;
        backend.flush();
    }

    /** The elevated login or connection failed before the statement ran: the agent gets the reason; its session goes on. */
    private void elevationFailed(Channel ch, ProtocolError error) {
        Elevation e = elevation;
        if (e == null || e.channel() != ch || phase == Phase.CLOSED) {
            if (ch != null) ch.close();
            return;
        }
        elevation = null;
        if (ch != null) ch.close();
        log.info("mysql session {}: elevated login for role '{}' failed: {}", connectionId, e.allow().runAs(), error.message());
        e.pending().packet().release();
        InFlight f = new InFlight(e.pending().command(), null, e.pending().request(), e.allow().context(), null, e.started());
        inflight = f;
        f.error = new ProtocolError(error.sqlState(), error.mysqlCode(), "the statement was approved to run as role '" + e.allow().runAs()
                + "', but Countersign could not log in to the backend as that role: " + error.message(), error.detail());
        finish(f, ServerPackets.err(client.alloc(), f.error));
        drain();
    }

    /** The elevated statement's response is complete: close its connection, return to the agent's own. */
    private void endElevation() {
        Elevation e = elevation;
        elevation = null;
        if (ownBackend != null) {
            Channel elevatedChannel = backend;
            backend = ownBackend;
            ownBackend = null;
            // the agent's own connection is where it was: its transaction state did not change
            serverStatus = e == null ? serverStatus : e.savedStatus();
            elevatedChannel.close();
        }
    }

    private void resume(Held h, GateDecision next, Throwable error) {
        if (held != h) {
            return; // withdrawn already
        }
        held = null;
        if (error != null || next == null) {
            Throwable cause = error instanceof java.util.concurrent.CompletionException c && c.getCause() != null ? c.getCause() : error;
            if (cause instanceof StatementWithdrawnException) {
                h.pending().packet().release();
                return;
            }
            next = new GateDecision.Deny(null, new ProtocolError("HY000", 1105, "Countersign could not decide on the held statement ("
                    + (cause == null ? "no decision" : cause.getMessage()) + "); it was not run", null));
        }
        apply(h.pending(), next, h.started());
        drain();
    }

    /** A KILL from another connection (or COM_PROCESS_KILL) withdraws this session's held statement, if any. */
    CompletableFuture<Long> killRequested(boolean queryOnly) {
        CompletableFuture<Long> result = new CompletableFuture<>();
        client.eventLoop().execute(() -> {
            Held h = held;
            if (h != null) {
                held = null;
                h.outcome().completeExceptionally(new StatementWithdrawnException(StatementWithdrawnException.Reason.CANCELLED));
                h.pending().packet().release();
                InFlight f = new InFlight(h.pending().command(), null, h.pending().request(), null, null, h.started());
                inflight = f;
                f.error = new ProtocolError("70100", 1317, "Query execution was interrupted", null);
                finish(f, ServerPackets.err(client.alloc(), f.error));
                discardLongData(h.pending());
                if (!queryOnly) {
                    close();
                } else {
                    drain();
                }
                result.complete(-1L);
            } else {
                result.complete(phase == Phase.COMMAND ? backendThreadId : -2L);
            }
        });
        return result;
    }

    private void kill(Pending pending, GateDecision.Allow allow, Instant started) {
        KillStatement k = pending.kill();
        ClientSession target = listener.session(k.connectionId());
        InFlight f = new InFlight(COM_QUERY, new ResponseTracker(ResponseTracker.Shape.RESULTS, deprecateEof()),
                pending.request(), allow.context(), null, started);
        inflight = f;
        ProtocolError refusal = null;
        if (target == null || target.agent() == null) {
            refusal = new ProtocolError("HY000", 1094, "Unknown thread id: " + k.connectionId(), null);
        } else if (!target.agent().equals(agent())) {
            refusal = new ProtocolError("HY000", 1095, "You are not owner of thread " + k.connectionId(), null);
        } else if (!sameBackend(target)) {
            refusal = new ProtocolError("HY000", 1095, "Thread " + k.connectionId()
                    + " runs on another backend; Countersign can only cancel it from a connection to the same backend", null);
        }
        if (refusal != null) {
            pending.packet().release();
            f.error = refusal;
            f.tracker = null;
            finish(f, ServerPackets.err(client.alloc(), refusal));
            return;
        }
        target.killRequested(k.queryOnly()).whenComplete((backendId, e) -> client.eventLoop().execute(() -> {
            if (phase == Phase.CLOSED || inflight != f) {
                pending.packet().release();
                return;
            }
            if (backendId == null || backendId < 0) {
                // the held statement was withdrawn inside Countersign: the backend never saw it
                pending.packet().release();
                f.tracker = null;
                f.affected = 0;
                finish(f, ServerPackets.ok(client.alloc(), 0, 0, serverStatus, 0));
                return;
            }
            pending.packet().release();
            String sql = k.forBackend(backendId);
            ByteBuf q = client.alloc().buffer(sql.length() + 1).writeByte(COM_QUERY);
            q.writeCharSequence(sql, StandardCharsets.US_ASCII);
            backend.writeAndFlush(new Packet(0, q));
        }));
    }

    /**
     * The backend keeps COM_STMT_SEND_LONG_DATA until the statement executes or is reset; when the
     * execute is refused, reset it, so the next execute does not append to the refused values.
     * The reset's answer is swallowed.
     */
    private void discardLongData(Pending pending) {
        if (!pending.longData() || backend == null || phase == Phase.CLOSED) {
            return;
        }
        ByteBuf reset = client.alloc().buffer(5).writeByte(COM_STMT_RESET).writeIntLE((int) pending.stmt().id);
        InFlight f = new InFlight(COM_STMT_RESET, new ResponseTracker(ResponseTracker.Shape.SINGLE, deprecateEof()), null, null, null,
                Instant.now());
        f.silent = true;
        inflight = f;
        backend.writeAndFlush(new Packet(0, reset));
    }

    private boolean sameBackend(ClientSession other) {
        BackendTarget a = target, b = other.target;
        return a != null && b != null && a.where().equals(b.where());
    }

    private boolean deprecateEof() {
        return (capabilities & Capabilities.DEPRECATE_EOF) != 0;
    }

    /** A command that is no statement (prepare, ping...): nothing reports it, so it needs no start time. */
    private InFlight forward(Packet p, int command, ResponseTracker.Shape shape, StatementRequest request, Object context,
                             ResultObserver observer) {
        return forward(p, command, shape, request, context, observer, request == null ? null : Instant.now());
    }

    private InFlight forward(Packet p, int command, ResponseTracker.Shape shape, StatementRequest request, Object context,
                             ResultObserver observer, Instant started) {
        InFlight f = new InFlight(command, new ResponseTracker(shape, deprecateEof()), request, context, observer, started);
        inflight = f;
        writeCommand(p.payload());
        if (!backend.isWritable()) {
            client.config().setAutoRead(false);
        }
        return f;
    }

    /**
     * Sends a command to the backend as one frame with sequence id 0: framed here, in one small
     * buffer, rather than through the encoder, and without a promise nobody waits on.
     */
    private void writeCommand(ByteBuf payload) {
        int length = payload.readableBytes();
        backendUnflushed = true;
        if (length >= BATCH_COPY_BELOW) {
            backend.write(new Packet(0, payload), backend.voidPromise());
            return;
        }
        ByteBuf frame = backend.alloc().ioBuffer(4 + length);
        Wire.append(frame.writeMediumLE(length).writeByte(0), payload, payload.readerIndex(), length);
        payload.release();
        backend.write(frame, backend.voidPromise());
    }

    // ------------------------------------------------------------------ responses

    /** One command on its way through the backend and back. */
    private static final class InFlight {
        final int command;
        ResponseTracker tracker;
        final StatementRequest request;
        final Object context;
        final ResultObserver observer;
        Instant started;
        long rows;
        long affected = -1;
        long bytes;
        ProtocolError error;
        List<Packet> heldMetadata;
        List<ResultColumn> columns;
        /** The prepared statement this execute runs, whose result columns are remembered across executes. */
        PreparedStatement stmt;
        /** This result's column definitions, kept once they differ from the ones {@link #stmt} remembers. */
        List<ByteBuf> definitions;
        boolean discarding;
        String prepareSql;
        String newDatabase;
        /** Countersign's own command: its answer never reaches the client. */
        boolean silent;
        /** Runs on an elevated connection (run-as), closed when its response is complete. */
        boolean elevated;

        InFlight(int command, ResponseTracker tracker, StatementRequest request, Object context, ResultObserver observer, Instant started) {
            this.command = command;
            this.tracker = tracker;
            this.request = request;
            this.context = context;
            this.observer = observer;
            this.started = started;
        }
    }

    void backendPacket(Channel ch, Packet p) {
        InFlight f = inflight;
        if (ch != backend || f == null || f.tracker == null || phase == Phase.CLOSED) {
            p.release(); // e.g. the backend's goodbye error before it closes an idle connection
            return;
        }
        ResponseTracker.Kind kind;
        try {
            kind = f.tracker.next(p.payload());
        } catch (RuntimeException e) {
            p.release();
            backendBroken(ch, "its response could not be followed (" + e.getMessage() + ")");
            return;
        }
        handle(f, p, kind);
    }

    /**
     * A run of whole backend frames (see {@link Frames}). Result rows whose sequence id is the one
     * the client expects next are passed through as they are: consecutive ones are copied to the
     * client in one go, headers included, with no re-framing, no pipeline hop and no allocation per
     * row (the one slice per row the observer reads is a plain view). Every other
     * packet (metadata held for the column check, terminators, errors, anything renumbered) takes
     * the per-packet path, in order.
     */
    void backendFrames(Channel ch, ByteBuf frames) {
        int span = -1; // start of the rows not yet written to the client
        // what this read relays is about what it holds: one batch fits it, small or (up to BATCH_SIZE) large
        batchHint = Math.min(BATCH_SIZE, Math.max(BATCH_MIN, frames.readableBytes()));
        // one view of the read, moved from packet to packet, rather than a slice per packet (per row)
        ByteBuf view = frames.duplicate();
        try {
            while (frames.isReadable()) {
                int start = frames.readerIndex();
                int length = frames.getUnsignedMediumLE(start);
                int frameSeq = frames.getUnsignedByte(start + 3);
                int end = start + 4 + length;
                InFlight f = inflight;
                if (ch != backend || f == null || f.tracker == null || phase == Phase.CLOSED) {
                    span = writeSpan(frames, span, start);
                    frames.readerIndex(end); // e.g. the backend's goodbye error before it closes an idle connection
                    continue;
                }
                ByteBuf payload = view.setIndex(start + 4, end);
                ResponseTracker.Kind kind;
                try {
                    kind = f.tracker.next(payload);
                } catch (RuntimeException e) {
                    writeSpan(frames, span, start);
                    backendBroken(ch, "its response could not be followed (" + e.getMessage() + ")");
                    return;
                }
                frames.readerIndex(end);
                if (kind == ResponseTracker.Kind.ROW && !f.silent && !f.discarding && f.heldMetadata == null
                        && frameSeq == seq && !f.tracker.done()) {
                    f.rows++;
                    f.bytes += length + 4;
                    if (f.observer != null) {
                        f.observer.onRow(payload);
                    }
                    if (span < 0) {
                        span = start;
                    }
                    seq = (seq + 1) & 0xFF;
                    continue;
                }
                span = writeSpan(frames, span, start);
                handle(f, new Packet(frameSeq, frames.retainedSlice(start + 4, length)), kind);
            }
            writeSpan(frames, span, frames.readerIndex());
        } finally {
            frames.release();
            batchHint = BATCH_MIN; // what the session sends on its own (errors, OK) is small
        }
    }

    /**
     * Queues the passed-through rows from {@code span} to {@code end}, if any, and returns -1 (no
     * span). They are copied, frames and all, in one go into the outgoing batch rather than sent as
     * slices of the receive buffer: a slice would pin the whole receive buffer (and the allocator's
     * chunk under it) until the client has read it, and a client that stalls would then hold
     * megabytes in the proxy instead of one batch.
     */
    private int writeSpan(ByteBuf frames, int span, int end) {
        if (span >= 0 && end > span && phase != Phase.CLOSED) {
            int length = end - span;
            Wire.append(batchFor(length), frames, span, length);
            if (!client.isWritable() && backend != null) {
                backend.config().setAutoRead(false);
            }
        }
        return -1;
    }

    private void handle(InFlight f, Packet p, ResponseTracker.Kind kind) {
        ByteBuf payload = p.payload();
        if (f.tracker.status() >= 0) {
            serverStatus = f.tracker.status();
        }
        if (f.silent) {
            p.release();
            if (f.tracker.done() && inflight == f) {
                inflight = null;
                drain();
            }
            return;
        }
        switch (kind) {
            case LOCAL_INFILE -> {
                // never hand a file to the backend: answer with an empty one and refuse at the client
                backend.writeAndFlush(new Packet((p.sequenceId() + 1) & 0xFF, Unpooled.EMPTY_BUFFER));
                p.release();
                if (!f.discarding) {
                    f.error = new ProtocolError("42000", 1148, "LOAD DATA LOCAL INFILE is refused by Countersign: "
                            + "agents may not upload files through the proxy; load the data on the server side instead", null);
                    send(ServerPackets.err(client.alloc(), f.error));
                    f.discarding = true;
                }
                return;
            }
            case ROW -> {
                f.rows++;
                if (f.observer != null && !f.discarding) {
                    int ri = payload.readerIndex();
                    f.observer.onRow(payload);
                    payload.readerIndex(ri);
                }
            }
            case OK -> f.affected = Math.max(f.affected, 0) + Math.max(f.tracker.affectedRows(), 0);
            case TERMINATOR -> {
                if (deprecateEof() && f.tracker.affectedRows() > 0) {
                    f.affected = Math.max(f.affected, 0) + f.tracker.affectedRows();
                }
            }
            case ERR -> {
                if (f.error == null) {
                    f.error = ServerPackets.readErr(payload);
                }
            }
            case PREPARE_OK -> {
                PreparedStatement stmt = new PreparedStatement(f.tracker.preparedId(), f.prepareSql, f.tracker.preparedParams());
                statements.put(stmt.id, stmt);
                lastPrepared = stmt;
            }
            default -> { }
        }
        if (f.discarding) {
            p.release();
            if (f.tracker.done()) {
                finish(f, null);
            }
            return;
        }
        if (f.observer != null && f.command != COM_STMT_FETCH
                && (kind == ResponseTracker.Kind.COLUMN_COUNT || f.heldMetadata != null)) {
            if (holdMetadata(f, p, kind)) {
                return;
            }
        }
        if (f.tracker.done()) {
            if (kind == ResponseTracker.Kind.OK && f.newDatabase != null && session != null) {
                database = f.newDatabase;
                session = new SessionInfo(session.sessionId(), Protocol.MYSQL, session.agent(), database, session.client(), session.attributes());
            }
            finish(f, p.payload());
        } else {
            relay(f, p.payload());
        }
    }

    /** Keeps a result's column count and definitions back until the observer has seen the columns. */
    private boolean holdMetadata(InFlight f, Packet p, ResponseTracker.Kind kind) {
        if (kind == ResponseTracker.Kind.COLUMN_COUNT) {
            f.heldMetadata = new ArrayList<>();
            f.columns = new ArrayList<>();
            f.definitions = null;
        } else if (kind == ResponseTracker.Kind.COLUMN_DEF) {
            f.columns.add(columnDefinition(f, p.payload()));
        }
        f.heldMetadata.add(p);
        if (!f.tracker.metadataEnd()) {
            return true;
        }
        List<Packet> metadata = f.heldMetadata;
        f.heldMetadata = null;
        ProtocolError stop;
        try {
            stop = f.observer.onColumns(resultColumns(f));
        } catch (RuntimeException e) {
            stop = new ProtocolError("HY000", 1105, "Countersign's column check failed (" + e.getMessage() + "); no rows were sent", null);
        }
        if (stop != null) {
            metadata.forEach(Packet::release);
            f.error = stop;
            f.discarding = true;
            if (f.tracker.done()) {
                finish(f, ServerPackets.err(client.alloc(), stop));
            } else {
                send(ServerPackets.err(client.alloc(), stop));
                flushClient();
            }
            return true;
        }
        for (int i = 0; i < metadata.size(); i++) {
            Packet m = metadata.get(i);
            if (i == metadata.size() - 1 && f.tracker.done()) {
                finish(f, m.payload());
            } else {
                relay(f, m.payload());
            }
        }
        return true;
    }

    /**
     * The next column of the result: for a prepared statement whose definitions so far are the ones
     * its last execute got, the column read then; otherwise read from the packet.
     */
    private static ResultColumn columnDefinition(InFlight f, ByteBuf payload) {
        PreparedStatement stmt = f.stmt;
        if (stmt == null) {
            return columnDefinition(payload);
        }
        int index = f.columns.size();
        ByteBuf[] known = stmt.columnDefinitions;
        if (f.definitions == null && known != null && index < known.length
                && known[index].readableBytes() == payload.readableBytes()
                && ByteBufUtil.equals(known[index], known[index].readerIndex(), payload, payload.readerIndex(), payload.readableBytes())) {
            return stmt.columns.get(index);
        }
        if (f.definitions == null) {
            f.definitions = new ArrayList<>();
            for (int i = 0; i < index; i++) {
                f.definitions.add(known[i]); // the same so far, hence known is there
            }
        }
        f.definitions.add(Unpooled.wrappedBuffer(ByteBufUtil.getBytes(payload)));
        return columnDefinition(payload);
    }

    /** The columns to show the observer: a prepared statement's remembered ones while unchanged. */
    private static List<ResultColumn> resultColumns(InFlight f) {
        PreparedStatement stmt = f.stmt;
        if (stmt == null) {
            return List.copyOf(f.columns);
        }
        if (f.definitions == null) {
            if (stmt.columns != null && stmt.columns.size() == f.columns.size()) {
                return stmt.columns;
            }
            if (stmt.columnDefinitions == null) {
                return List.copyOf(f.columns);
            }
            // fewer columns than last time, the same as far as they go
            f.definitions = new ArrayList<>(List.of(stmt.columnDefinitions).subList(0, f.columns.size()));
        }
        stmt.columns = new ReusedColumns(f.columns);
        stmt.columnDefinitions = f.definitions.toArray(new ByteBuf[0]);
        f.definitions = null;
        return stmt.columns;
    }

    private static ResultColumn columnDefinition(ByteBuf p) {
        ByteBuf b = p.duplicate();
        Wire.skipLenencString(b); // catalog
        String schema = Wire.readLenencString(b);
        Wire.skipLenencString(b); // table (alias)
        String orgTable = Wire.readLenencString(b);
        String name = Wire.readLenencString(b);
        String orgName = Wire.readLenencString(b);
        return new ResultColumn(name, 0, 0, emptyToNull(schema), emptyToNull(orgTable), emptyToNull(orgName));
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    /**
     * Relays one response packet. Small ones (rows, mostly) are copied behind their header into a
     * shared outgoing buffer, so a result costs one write per 64 KiB instead of one per row; large
     * ones go out as they are.
     */
    private void relay(InFlight f, ByteBuf payload) {
        f.bytes += payload.readableBytes() + 4;
        send(payload);
        if (!client.isWritable() && backend != null) {
            backend.config().setAutoRead(false);
        }
    }

    /** The outgoing batch, with room for {@code needed} more bytes: the current one, or a new one after writing it. */
    private ByteBuf batchFor(int needed) {
        ByteBuf b = batch;
        if (b == null || b.writableBytes() < needed) {
            writeBatch();
            b = client.alloc().ioBuffer(Math.max(needed, batchHint));
            batch = b;
        }
        return b;
    }

    private void writeBatch() {
        ByteBuf b = batch;
        if (b != null) {
            batch = null;
            if (b.isReadable()) {
                // no promise: nobody waits on it, and a failed write fails the channel anyway
                client.write(b, client.voidPromise());
                clientUnflushed = true;
            } else {
                b.release();
            }
        }
    }

    private void flushClient() {
        writeBatch();
        if (clientUnflushed) {
            clientUnflushed = false;
            client.flush();
        }
    }

    /** The last packet of a command's response: report the statement, then release the packet when the record is durable. */
    private void finish(InFlight f, ByteBuf last) {
        CompletionStage<Void> durable = null;
        if (f.request != null) {
            if (last != null) {
                f.bytes += last.readableBytes() + 4;
            }
            StatementCompletion c = new StatementCompletion(f.request, f.context, f.started, Instant.now(),
                    f.error == null ? summary(f) : null, f.rows, f.affected, f.bytes, f.error);
            try {
                durable = settings.listener().onCompleted(c);
            } catch (RuntimeException e) {
                log.warn("mysql session {}: statement listener failed", connectionId, e);
                durable = CompletableFuture.failedFuture(e);
            }
        }
        if (durable == null || (durable instanceof CompletableFuture<Void> cf && cf.isDone() && !cf.isCompletedExceptionally())) {
            release(f, last);
            return;
        }
        awaitingDurability = true;
        durable.whenComplete((ok, error) -> client.eventLoop().execute(() -> {
            awaitingDurability = false;
            if (phase == Phase.CLOSED) {
                ReferenceCountUtil.release(last);
                return;
            }
            if (error != null) {
                ReferenceCountUtil.release(last);
                release(f, ServerPackets.err(client.alloc(), new ProtocolError("HY000", 1105,
                        "Countersign could not record the statement durably (" + error.getMessage()
                                + "); its result is withheld, check the audit store", null)));
            } else {
                release(f, last);
            }
            drain();
        }));
    }

    private void release(InFlight f, ByteBuf last) {
        if (inflight == f) {
            inflight = null;
        }
        if (f.elevated && elevation != null) {
            endElevation();
        }
        if (last != null) {
            send(last);
        }
        flushClient();
        if (backend != null && !backend.config().isAutoRead() && client.isWritable()) {
            backend.config().setAutoRead(true);
        }
    }

    private static String summary(InFlight f) {
        if (f.rows > 0 || f.affected < 0) {
            return f.rows < SELECT_TAGS.length ? SELECT_TAGS[(int) f.rows] : "SELECT " + f.rows;
        }
        return f.affected < OK_TAGS.length ? OK_TAGS[(int) f.affected] : "OK " + f.affected;
    }

    /** The command tags of small results, made once rather than concatenated per statement. */
    private static final String[] SELECT_TAGS = new String[128], OK_TAGS = new String[128];

    static {
        for (int i = 0; i < SELECT_TAGS.length; i++) {
            SELECT_TAGS[i] = "SELECT " + i;
            OK_TAGS[i] = "OK " + i;
        }
    }

    void backendReadComplete() {
        if (client != null) {
            flushClient();
        }
        if (inflight == null && held == null && elevation == null && !awaitingDurability) {
            drain();
        }
    }

    void backendWritabilityChanged(boolean writable) {
        if (writable && phase == Phase.COMMAND && queue.size() <= QUEUE_PAUSE / 2) {
            client.config().setAutoRead(true);
        } else if (!writable) {
            client.config().setAutoRead(false);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (backend != null) {
            backend.config().setAutoRead(ctx.channel().isWritable());
        }
    }

    void backendBroken(Channel ch, String why) {
        if (elevation != null && ch == elevation.channel() && ch != backend) {
            elevationFailed(ch, new ProtocolError("08S01", 2013, why, null));
            return;
        }
        if (ch != backend && backend != null) {
            ch.close();
            return;
        }
        ch.close();
        lostBackend("Lost connection to backend" + (target == null ? "" : " '" + target.name() + "'") + ": " + why);
    }

    void backendClosed(Channel ch) {
        if (ch != backend || phase == Phase.CLOSED) {
            return;
        }
        lostBackend("Lost connection to backend '" + target.name() + "' during query; the backend closed the connection "
                + "(it was stopped, or the connection was killed); reconnect to start a new session");
    }

    private void lostBackend(String message) {
        if (phase == Phase.CLOSED) {
            return;
        }
        if (phase == Phase.CONNECTING) {
            fatal(2003, "08S01", message);
            return;
        }
        InFlight f = inflight;
        if (f != null && !f.silent) {
            f.error = new ProtocolError("08S01", 2013, message, null);
            f.tracker = null;
            f.discarding = true;
            if (f.heldMetadata != null) {
                f.heldMetadata.forEach(Packet::release);
                f.heldMetadata = null;
            }
            finish(f, ServerPackets.err(client.alloc(), f.error));
        }
        close();
    }

    // ------------------------------------------------------------------ COM_CHANGE_USER

    private void changeUser(Packet p) {
        ByteBuf b = p.payload().duplicate().skipBytes(1);
        try {
            String newUser = Wire.readNulString(b);
            if ((capabilities & Capabilities.SECURE_CONNECTION) != 0) {
                Wire.need(b, 1, "the auth response length");
                b.skipBytes(b.readUnsignedByte());
            } else {
                Wire.readNulString(b);
            }
            String db = b.isReadable() ? Wire.readNulStringOrRest(b) : null;
            if (b.readableBytes() >= 2) {
                charset = b.readUnsignedShortLE() & 0xFF;
            }
            String plugin = (capabilities & Capabilities.PLUGIN_AUTH) != 0 && b.isReadable() ? Wire.readNulStringOrRest(b) : null;
            if ((capabilities & Capabilities.CONNECT_ATTRS) != 0 && b.isReadable()) {
                long total = Wire.readLenenc(b);
                ByteBuf attrs = b.readSlice((int) Math.min(total, b.readableBytes()));
                Map<String, String> m = new LinkedHashMap<>();
                while (attrs.isReadable()) {
                    m.put(Wire.readLenencString(attrs), Wire.readLenencString(attrs));
                }
                attributes = m;
            }
            user = newUser;
            database = db == null || db.isEmpty() ? null : db;
        } finally {
            p.release();
        }
        // always re-authenticate with a fresh nonce: the client's proof was made for the old one
        statements.clear();
        lastPrepared = null;
        changingUser = true;
        Channel old = backend;
        backend = null;
        session = null;
        if (old != null) {
            old.close();
        }
        phase = Phase.AUTH;
        if (refusedTokenTransport(user)) {
            return;
        }
        auth = newAuth(user);
        authStep(auth.switchTo(null));
    }

    // ------------------------------------------------------------------ plumbing

    /**
     * Queues one packet for the client. Small ones are copied behind their header into the outgoing
     * batch, so a whole answer (metadata, rows, terminator) leaves in one buffer and one write; large
     * ones go out as they are, after the batch.
     */
    private void send(ByteBuf payload) {
        int length = payload.readableBytes();
        if (phase == Phase.CLOSED) {
            payload.release();
            return;
        }
        if (length < BATCH_COPY_BELOW) {
            Wire.append(batchFor(length + 4).writeMediumLE(length).writeByte(seq), payload, payload.readerIndex(), length);
            payload.release();
            seq = (seq + 1) & 0xFF;
            return;
        }
        writeBatch();
        client.write(new Packet(seq, payload), client.voidPromise());
        clientUnflushed = true;
        seq = (seq + Packet.frames(length)) & 0xFF;
    }

    private void sendError(ProtocolError e) {
        send(ServerPackets.err(client.alloc(), e));
    }

    /** Answers with an ERR packet, then closes this connection only. */
    private void fatal(int code, String state, String message) {
        if (phase == Phase.CLOSED) {
            return;
        }
        log.info("mysql session {}: closing: {} {}", connectionId, code, message);
        send(ServerPackets.err(client.alloc(), code, state, message));
        close();
    }

    void close() {
        if (phase == Phase.CLOSED) {
            return;
        }
        phase = Phase.CLOSED;
        writeBatch();
        client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        cleanUp();
    }

    private void cleanUp() {
        phase = Phase.CLOSED;
        listener.unregister(this);
        if (loginTimeout != null) {
            loginTimeout.cancel(false);
        }
        Held h = held;
        held = null;
        if (h != null) {
            h.outcome().completeExceptionally(new StatementWithdrawnException(StatementWithdrawnException.Reason.DISCONNECTED));
            h.pending().packet().release();
            try {
                settings.listener().onCompleted(new StatementCompletion(h.pending().request(), null, h.started(), Instant.now(),
                        null, 0, -1, 0, ProtocolError.cancelled("the client disconnected while its statement was held")));
            } catch (RuntimeException e) {
                log.warn("mysql session {}: statement listener failed", connectionId, e);
            }
        }
        InFlight f = inflight;
        if (f != null && f.heldMetadata != null) {
            f.heldMetadata.forEach(Packet::release);
            f.heldMetadata = null;
        }
        if (batch != null) {
            batch.release();
            batch = null;
        }
        Packet p;
        while ((p = queue.poll()) != null) {
            p.release();
        }
        if (backend != null) {
            backend.close();
        }
        if (ownBackend != null) {
            ownBackend.close();
        }
        Elevation e = elevation;
        elevation = null;
        if (e != null) {
            e.channel().close();
            if (e.channel() != backend) {
                e.pending().packet().release();
            }
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (phase != Phase.CLOSED) {
            cleanUp();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.info("mysql session {}: {}", connectionId, cause.toString());
        if (phase != Phase.CLOSED) {
            phase = Phase.CLOSED;
            ctx.close();
            cleanUp();
        }
    }
}
