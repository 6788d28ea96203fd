package io.countersign.wire.pg;

import io.countersign.wire.pg.PostgresListener.AuthMethod;
import io.countersign.wire.spi.AgentAuthenticator;
import io.countersign.wire.spi.AgentCredential;
import io.countersign.wire.spi.Protocol;
import io.countersign.wire.spi.SessionInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SslHandler;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent-facing side of a connection: startup packets (SSL/GSSENC/cancel/startup), agent
 * authentication, then relaying every message to the {@link RelaySession}.
 */
final class FrontendHandler extends PgFramer {

    private static final Logger log = LoggerFactory.getLogger(FrontendHandler.class);
    private static final int MAX_STARTUP = 10_000;

    private enum Phase { STARTUP, SASL_INITIAL, SASL_FINAL, MD5, CLEARTEXT, TOKEN, VERIFYING, RELAY, LOCAL }

    private final PostgresListener.Runtime runtime;
    private Phase phase = Phase.STARTUP;
    private boolean tls;
    private String user;
    private String database;
    private Map<String, String> params;
    private Optional<AgentCredential> credential;
    private Scram.Server scram;
    private byte[] md5Salt;
    private RelaySession session;
    private LocalSession local;
    private boolean counted;

    FrontendHandler(PostgresListener.Runtime runtime) {
        this.runtime = runtime;
        this.untyped = true;
        this.maxLength = MAX_STARTUP;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        counted = true;
        runtime.metrics().connections.increment();
        runtime.metrics().active.incrementAndGet();
        super.channelActive(ctx);
    }

    @Override
    protected void onBytes(int n) {
        runtime.metrics().bytesIn.increment(n);
    }

    @Override
    protected void onMessage(ChannelHandlerContext ctx, ByteBuf buf, int index, int size) {
        switch (phase) {
            case RELAY -> session.fromClient(buf, index, size);
            case LOCAL -> local.fromClient(buf, index, size);
            case STARTUP -> startupPacket(ctx, buf, index, size);
            default -> authMessage(ctx, buf, index, size);
        }
    }

    @Override
    protected void onBatchEnd(ChannelHandlerContext ctx) {
        if (session != null) {
            session.clientBatchEnd();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (session != null) {
            session.clientReadComplete();
        } else {
            ctx.flush();
        }
    }

    // ------------------------------------------------------------------ startup

    private void startupPacket(ChannelHandlerContext ctx, ByteBuf buf, int index, int size) {
        if (size < 8) {
            fatal(ctx, "08P01", "invalid startup packet: length " + size + " is shorter than 8 bytes; "
                    + "this port speaks the PostgreSQL protocol v3");
            return;
        }
        int code = buf.getInt(index + 4);
        switch (code) {
            case PgOut.SSL_REQUEST -> {
                if (runtime.settings().tls() != null && !tls) {
                    if (buf.isReadable()) {
                        fatal(ctx, "08P01", "received unencrypted data after the SSL request; the client must wait for the server's answer");
                        return;
                    }
                    ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'S'}));
                    ctx.pipeline().addFirst("tls", runtime.settings().tls().newHandler(ctx.alloc()));
                    tls = true;
                } else {
                    ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'N'}));
                }
            }
            case PgOut.GSSENC_REQUEST -> ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'N'}));
            case PgOut.CANCEL_REQUEST -> {
                if (size == 16) {
                    RelaySession target = runtime.cancels().find(buf.getInt(index + 8), buf.getInt(index + 12));
                    if (target != null) {
                        target.cancelRequested();
                    }
                }
                stopped = true;
                ctx.close(); // PostgreSQL never answers a cancel request
            }
            default -> startup(ctx, buf, index, size, code);
        }
    }

    private void startup(ChannelHandlerContext ctx, ByteBuf buf, int index, int size, int version) {
        int major = version >>> 16;
        int minor = version & 0xFFFF;
        if (major != 3) {
            fatal(ctx, "0A000", "unsupported frontend protocol " + major + "." + minor
                    + ": Countersign supports protocol 3.0 (PostgreSQL 7.4 and later clients)");
            return;
        }
        params = new LinkedHashMap<>();
        List<String> unknownOptions = new ArrayList<>();
        int p = index + 8;
        int end = index + size;
        while (p < end && buf.getByte(p) != 0) {
            int kEnd = buf.indexOf(p, end, (byte) 0);
            int vEnd = kEnd < 0 ? -1 : buf.indexOf(kEnd + 1, end, (byte) 0);
            if (vEnd < 0) {
                fatal(ctx, "08P01", "invalid startup packet layout: expected NUL-terminated name/value pairs");
                return;
            }
            String k = buf.toString(p, kEnd - p, StandardCharsets.UTF_8);
            String v = buf.toString(kEnd + 1, vEnd - kEnd - 1, StandardCharsets.UTF_8);
            if (k.startsWith("_pq_.")) {
                unknownOptions.add(k);
            } else {
                params.put(k, v);
            }
            p = vEnd + 1;
        }
        user = params.get("user");
        if (user == null || user.isEmpty()) {
            fatal(ctx, "28000", "no PostgreSQL user name specified in startup packet; connect with a user name (the agent's name)");
            return;
        }
        database = params.getOrDefault("database", user);
        if (minor > 0 || !unknownOptions.isEmpty()) {
            ctx.write(PgOut.negotiateProtocolVersion(ctx.alloc(), 0, unknownOptions));
        }
        if (runtime.settings().requireTls() && !tls) {
            fatal(ctx, "28000", "connection for agent \"" + user + "\" requires TLS: Countersign only accepts encrypted connections; "
                    + "connect with sslmode=require");
            return;
        }
        untyped = false;
        maxLength = 64 * 1024;
        credential = runtime.settings().authenticator().credentialFor(user);
        beginAuth(ctx);
    }

    // ------------------------------------------------------------------ authentication

    private void beginAuth(ChannelHandlerContext ctx) {
        if (credential.orElse(null) instanceof AgentCredential.BearerToken bearer) {
            // A workload token is sent where a password goes: ask for it in clear, so only over TLS.
            if (!bearer.acceptsTransport(tls, ctx.channel().remoteAddress())) {
                log.warn("agent \"{}\" from {} tried to send its token without TLS; refused", user, ctx.channel().remoteAddress());
                fatal(ctx, "28000", "agent \"" + user + "\" authenticates with a token, which Countersign accepts only over TLS: "
                        + "connect with sslmode=require (or allow plaintext tokens on loopback in identity.agent-tokens)");
                return;
            }
            phase = Phase.TOKEN;
            ctx.writeAndFlush(PgOut.auth(ctx.alloc(), 3, null));
            return;
        }
        var methods = runtime.settings().authMethods();
        if (methods.contains(AuthMethod.SCRAM_SHA_256)) {
            AgentCredential.ScramSha256 verifier = credential.map(Scram::verifier).orElse(null);
            scram = new Scram.Server(verifier, runtime.fakeSalt(user));
            phase = Phase.SASL_INITIAL;
            ctx.writeAndFlush(PgOut.authSasl(ctx.alloc()));
        } else if (methods.contains(AuthMethod.MD5)) {
            md5Salt = new byte[4];
            Scram.RANDOM.nextBytes(md5Salt);
            phase = Phase.MD5;
            ctx.writeAndFlush(PgOut.auth(ctx.alloc(), 5, md5Salt));
        } else if (methods.contains(AuthMethod.CLEARTEXT_OVER_TLS) && tls) {
            phase = Phase.CLEARTEXT;
            ctx.writeAndFlush(PgOut.auth(ctx.alloc(), 3, null));
        } else {
            fatal(ctx, "28000", "no authentication method available for agent \"" + user + "\""
                    + (methods.contains(AuthMethod.CLEARTEXT_OVER_TLS) ? ": cleartext passwords are accepted only over TLS; connect with sslmode=require" : ""));
        }
    }

    private void authMessage(ChannelHandlerContext ctx, ByteBuf buf, int index, int size) {
        int type = buf.getByte(index);
        if (type == 'X') {
            stopped = true;
            ctx.close();
            return;
        }
        if (type != 'p') {
            fatal(ctx, "08P01", "expected a password message during authentication, got message type "
                    + RelaySession.describeType(type));
            return;
        }
        int body = index + 5;
        int end = index + size;
        switch (phase) {
            case SASL_INITIAL -> {
                int mechEnd = buf.indexOf(body, end, (byte) 0);
                if (mechEnd < 0 || mechEnd + 5 > end) {
                    fatal(ctx, "08P01", "malformed SASLInitialResponse message");
                    return;
                }
                String mech = buf.toString(body, mechEnd - body, StandardCharsets.UTF_8);
                if (!mech.equals("SCRAM-SHA-256")) {
                    fatal(ctx, "28000", "SASL mechanism " + mech + " is not supported; Countersign offers SCRAM-SHA-256");
                    return;
                }
                int len = buf.getInt(mechEnd + 1);
                String first = len < 0 ? "" : buf.toString(mechEnd + 5, Math.min(len, end - mechEnd - 5), StandardCharsets.UTF_8);
                String serverFirst = scram.first(first);
                if (serverFirst == null) {
                    fatal(ctx, "08P01", "malformed SCRAM client-first-message");
                    return;
                }
                phase = Phase.SASL_FINAL;
                ctx.writeAndFlush(PgOut.auth(ctx.alloc(), 11, serverFirst.getBytes(StandardCharsets.UTF_8)));
            }
            case SASL_FINAL -> {
                String serverFinal = scram.last(buf.toString(body, end - body, StandardCharsets.UTF_8));
                if (serverFinal == null) {
                    authFailed(ctx);
                    return;
                }
                ctx.write(PgOut.auth(ctx.alloc(), 12, serverFinal.getBytes(StandardCharsets.UTF_8)));
                authenticated(ctx);
            }
            case MD5 -> {
                String answer = PgOut.readCString(buf, body);
                boolean ok = credential.orElse(null) instanceof AgentCredential.Password pw
                        && MessageDigest.isEqual(answer.getBytes(StandardCharsets.UTF_8),
                        Scram.md5Response(user, pw.password(), md5Salt).getBytes(StandardCharsets.UTF_8));
                if (ok) {
                    authenticated(ctx);
                } else {
                    authFailed(ctx);
                }
            }
            case CLEARTEXT -> {
                String answer = PgOut.readCString(buf, body);
                boolean ok = switch (credential.orElse(null)) {
                    case AgentCredential.Password pw -> MessageDigest.isEqual(
                            answer.getBytes(StandardCharsets.UTF_8), pw.password().getBytes(StandardCharsets.UTF_8));
                    case AgentCredential.ScramSha256 v -> Arrays.equals(
                            Scram.fromPassword(answer, v.salt(), v.iterations()).storedKey(), v.storedKey());
                    case AgentCredential.BearerToken t -> false;
                    case null -> false;
                };
                if (ok) {
                    authenticated(ctx);
                } else {
                    authFailed(ctx);
                }
            }
            case TOKEN -> verifyToken(ctx, (AgentCredential.BearerToken) credential.orElseThrow(), PgOut.readCString(buf, body));
            default -> fatal(ctx, "08P01", "unexpected message during authentication");
        }
    }

    /**
     * Verification may have to fetch the provider's key set: it runs off this event loop, and the
     * login finishes on it when the answer is there. Nothing more is read from the client meanwhile.
     */
    private void verifyToken(ChannelHandlerContext ctx, AgentCredential.BearerToken bearer, String token) {
        phase = Phase.VERIFYING;
        ctx.channel().config().setAutoRead(false);
        java.util.concurrent.CompletionStage<io.countersign.wire.spi.TokenVerifier.Result> check;
        try {
            check = bearer.verifier().verify(user, token);
        } catch (RuntimeException e) {
            check = java.util.concurrent.CompletableFuture.completedFuture(
                    new io.countersign.wire.spi.TokenVerifier.Result.Refused("the token could not be verified (" + e.getMessage() + ")"));
        }
        check.whenComplete((result, error) -> ctx.executor().execute(() -> {
            if (stopped || !ctx.channel().isActive()) {
                return;
            }
            ctx.channel().config().setAutoRead(true);
            switch (result) {
                case io.countersign.wire.spi.TokenVerifier.Result.Accepted a when error == null -> authenticated(ctx);
                case io.countersign.wire.spi.TokenVerifier.Result.Refused r when error == null -> tokenRefused(ctx, r.reason());
                case null, default -> tokenRefused(ctx, "the token could not be verified ("
                        + (error == null ? "no answer" : error.getMessage()) + ")");
            }
        }));
    }

    private void tokenRefused(ChannelHandlerContext ctx, String reason) {
        runtime.metrics().authFailures.increment();
        // the reason may quote the token's claims: it goes to the client, the log names only the user
        log.info("agent token refused for user \"{}\" from {}", user, ctx.channel().remoteAddress());
        fatal(ctx, "28P01", "token authentication failed for user \"" + user + "\": " + reason);
    }

    private void authFailed(ChannelHandlerContext ctx) {
        runtime.metrics().authFailures.increment();
        log.info("agent authentication failed for user \"{}\" from {}", user, ctx.channel().remoteAddress());
        fatal(ctx, "28P01", "password authentication failed for user \"" + user + "\"");
    }

    private void authenticated(ChannelHandlerContext ctx) {
        AgentAuthenticator.Route route;
        try {
            route = runtime.settings().authenticator().route(user, database);
        } catch (RuntimeException e) {
            log.error("routing agent {} to database {} failed", user, database, e);
            fatal(ctx, "XX000", "Countersign could not find a backend for agent \"" + user + "\" and database \"" + database
                    + "\": " + e.getMessage());
            return;
        }
        switch (route) {
            case AgentAuthenticator.Route.Refused r -> {
                ctx.write(PgOut.auth(ctx.alloc(), 0, null));
                ctx.writeAndFlush(PgOut.error(ctx.alloc(), "FATAL", r.error())).addListener(ChannelFutureListener.CLOSE);
                stopped = true;
            }
            case AgentAuthenticator.Route.Local l -> {
                ctx.write(PgOut.auth(ctx.alloc(), 0, null));
                local = new LocalSession(ctx.channel(), l.database());
                phase = Phase.LOCAL;
                maxLength = LocalSession.MAX_MESSAGE;
                local.start();
            }
            case AgentAuthenticator.Route.Backend b -> {
                ctx.write(PgOut.auth(ctx.alloc(), 0, null));
                ctx.flush();
                SessionInfo info = new SessionInfo(runtime.nextSessionId(), Protocol.POSTGRESQL, user, database,
                        ctx.channel().remoteAddress(), params);
                session = new RelaySession(runtime.settings(), runtime.metrics(), runtime.cancels(), ctx.channel(),
                        info, b.target(), params);
                phase = Phase.RELAY;
                maxLength = MAX_MESSAGE;
                session.connect();
            }
        }
    }

    private void fatal(ChannelHandlerContext ctx, String sqlState, String message) {
        stopped = true;
        ctx.writeAndFlush(PgOut.error(ctx.alloc(), "FATAL", sqlState, message)).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    protected void onBadLength(ChannelHandlerContext ctx, int type, long length) {
        if (phase == Phase.STARTUP) {
            fatal(ctx, "08P01", "invalid startup packet length " + length + " (0x" + Long.toHexString(length)
                    + "): expected 8 to " + MAX_STARTUP + " bytes; this port speaks the PostgreSQL protocol v3");
        } else if (session != null) {
            stopped = true;
            fatal(ctx, "08P01", "invalid message length " + length + " for message type " + RelaySession.describeType(type)
                    + ": the largest message PostgreSQL accepts is " + MAX_MESSAGE + " bytes");
            session.clientClosed();
        } else {
            fatal(ctx, "08P01", "invalid message length " + length + " for message type " + RelaySession.describeType(type)
                    + " during authentication");
        }
    }

    @Override
    protected void onMalformed(ChannelHandlerContext ctx, int type, RuntimeException cause) {
        String what = phase == Phase.STARTUP ? "startup packet" : "message " + RelaySession.describeType(type);
        log.info("connection from {}: malformed {}: {}", ctx.channel().remoteAddress(), what, cause.toString());
        if (session != null) {
            session.clientProtocolViolation("malformed " + what + ": its fields do not fit its length; the client's stream is corrupt");
        } else {
            fatal(ctx, "08P01", "malformed " + what + ": its fields do not fit its length; the client's stream is corrupt");
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
            // The client closed its sending side; answer a truncated message, then close.
            String truncated = truncation();
            releasePartial();
            if (truncated != null && !stopped) {
                log.info("connection from {}: truncated message: {}", ctx.channel().remoteAddress(), truncated);
                fatal(ctx, "08P01", "truncated message: " + truncated + "; the client must send whole messages");
            } else {
                stopped = true;
                ctx.close();
            }
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (session != null) {
            session.updateBackendAutoRead();
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (counted) {
            counted = false;
            runtime.metrics().active.decrementAndGet();
        }
        if (session != null) {
            session.clientClosed();
        }
        if (local != null) {
            local.clientClosed();
        }
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof io.netty.handler.codec.DecoderException && cause.getCause() instanceof javax.net.ssl.SSLException ssl) {
            log.info("TLS error from {}: {}", ctx.channel().remoteAddress(), ssl.getMessage());
        } else {
            log.debug("connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        }
        ctx.close();
    }
}
