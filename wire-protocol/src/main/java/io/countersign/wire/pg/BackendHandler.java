package io.countersign.wire.pg;

import io.countersign.wire.spi.BackendTarget.TlsMode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * Countersign's own connection to a backend: TLS negotiation, login with the backend credentials
 * (SCRAM-SHA-256, MD5, cleartext or trust), then the relay of backend messages to the session.
 */
final class BackendHandler extends PgFramer {

    private enum Phase { SSL_ANSWER, LOGIN, RELAY }

    private static volatile SslContext trustAll;
    private static volatile SslContext verifying;

    private final BackendPeer session;
    private Phase phase = Phase.LOGIN;
    private Scram.Client scram;

    BackendHandler(BackendPeer session) {
        this.session = session;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        session.backendChannel(ctx.channel());
        if (session.target().tls() == TlsMode.DISABLE) {
            sendStartup(ctx);
        } else {
            phase = Phase.SSL_ANSWER;
            ctx.writeAndFlush(PgOut.sslRequest(ctx.alloc()));
        }
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (phase == Phase.SSL_ANSWER && msg instanceof ByteBuf in) {
            try {
                if (!in.isReadable()) {
                    return;
                }
                byte answer = in.readByte();
                if (in.isReadable()) {
                    fail("the backend sent unencrypted data after its answer to the SSL request", null);
                    return;
                }
                sslAnswer(ctx, answer);
            } finally {
                in.release();
            }
            return;
        }
        super.channelRead(ctx, msg);
    }

    private void sslAnswer(ChannelHandlerContext ctx, byte answer) {
        TlsMode mode = session.target().tls();
        phase = Phase.LOGIN;
        if (answer == 'S') {
            try {
                SslContext ssl = mode == TlsMode.VERIFY_FULL ? verifyingContext() : trustAllContext();
                SslHandler handler = ssl.newHandler(ctx.alloc(), session.target().host(), session.target().port());
                if (mode == TlsMode.VERIFY_FULL) {
                    SSLEngine engine = handler.engine();
                    SSLParameters params = engine.getSSLParameters();
                    params.setEndpointIdentificationAlgorithm("HTTPS");
                    engine.setSSLParameters(params);
                }
                ctx.pipeline().addFirst("tls", handler);
                handler.handshakeFuture().addListener(f -> {
                    if (!f.isSuccess()) {
                        fail("TLS handshake with the backend failed: " + f.cause().getMessage()
                                + (mode == TlsMode.VERIFY_FULL ? " (tls: verify-full checks the certificate chain and host name)" : ""), null);
                    }
                });
            } catch (SSLException e) {
                fail("cannot set up TLS to the backend: " + e.getMessage(), null);
                return;
            }
        } else if (answer == 'N') {
            if (mode == TlsMode.REQUIRE || mode == TlsMode.VERIFY_FULL) {
                fail("the backend does not accept TLS but the config requires it (tls: " + mode.name().toLowerCase()
                        + "); enable ssl on the backend or set tls: prefer/disable", null);
                return;
            }
        } else {
            fail("the backend answered the SSL request with " + RelaySession.describeType(answer) + "; is it a PostgreSQL server?", null);
            return;
        }
        sendStartup(ctx);
    }

    private static SslContext trustAllContext() throws SSLException {
        if (trustAll == null) {
            trustAll = SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE).build();
        }
        return trustAll;
    }

    private static SslContext verifyingContext() throws SSLException {
        if (verifying == null) {
            verifying = SslContextBuilder.forClient().build();
        }
        return verifying;
    }

    private void sendStartup(ChannelHandlerContext ctx) {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", session.target().user());
        params.put("database", session.target().database());
        session.startupParams().forEach((k, v) -> {
            if (!k.equals("user") && !k.equals("database") && !k.startsWith("_pq_.") && !k.equals("replication")) {
                params.put(k, v);
            }
        });
        ctx.writeAndFlush(PgOut.startup(ctx.alloc(), params));
    }

    @Override
    protected void onMessage(ChannelHandlerContext ctx, ByteBuf buf, int index, int size) {
        if (phase == Phase.RELAY) {
            session.fromBackend(buf, index, size);
            return;
        }
        int type = buf.getByte(index);
        int body = index + 5;
        switch (type) {
            case 'R' -> authRequest(ctx, buf, body, size - 5);
            case 'S', 'N' -> session.forwardDuringLogin(buf, index, size);
            case 'K' -> session.backendKey(buf.getInt(body), buf.getInt(body + 4));
            case 'v' -> { } // the backend speaks an older minor version: fine, we only use 3.0
            case 'Z' -> {
                session.flushLogin();
                phase = Phase.RELAY;
                session.backendReady((char) buf.getByte(body));
            }
            case 'E' -> {
                var e = RelaySession.parseError(buf, index, size);
                stopped = true;
                session.loginRefused(e, "the backend " + session.describeBackend() + " refused Countersign's login as '"
                        + session.target().user() + "': " + e.message() + " (SQLSTATE " + e.sqlState()
                        + "); check the backend credentials in the config");
            }
            default -> fail("unexpected message " + RelaySession.describeType(type) + " from the backend during login", null);
        }
    }

    private void authRequest(ChannelHandlerContext ctx, ByteBuf buf, int body, int len) {
        int code = buf.getInt(body);
        String password = session.target().password();
        switch (code) {
            case 0 -> { } // AuthenticationOk
            case 3 -> {
                if (needPassword()) {
                    ctx.writeAndFlush(PgOut.password(ctx.alloc(), password));
                }
            }
            case 5 -> {
                if (needPassword()) {
                    byte[] salt = new byte[4];
                    buf.getBytes(body + 4, salt);
                    ctx.writeAndFlush(PgOut.password(ctx.alloc(), Scram.md5Response(session.target().user(), password, salt)));
                }
            }
            case 10 -> {
                String mechs = buf.toString(body + 4, len - 4, StandardCharsets.UTF_8);
                if (!mechs.contains("SCRAM-SHA-256\0")) {
                    fail("the backend offers only SASL mechanisms " + mechs.replace('\0', ' ').trim()
                            + "; Countersign supports SCRAM-SHA-256", null);
                    return;
                }
                if (needPassword()) {
                    scram = new Scram.Client(password);
                    ctx.writeAndFlush(PgOut.saslInitial(ctx.alloc(), "SCRAM-SHA-256", scram.first()));
                }
            }
            case 11 -> {
                try {
                    byte[] last = scram.last(buf.toString(body + 4, len - 4, StandardCharsets.UTF_8));
                    ctx.writeAndFlush(PgOut.saslResponse(ctx.alloc(), last));
                } catch (RuntimeException e) {
                    fail("SCRAM exchange with the backend failed: " + e.getMessage(), null);
                }
            }
            case 12 -> {
                if (!scram.verify(buf.toString(body + 4, len - 4, StandardCharsets.UTF_8))) {
                    fail("the backend's SCRAM server signature is wrong: it does not know the password (possible impostor)", null);
                }
            }
            default -> fail("the backend asks for authentication method " + code
                    + ", which Countersign does not support (use scram-sha-256, md5, password or trust)", null);
        }
    }

    private boolean needPassword() {
        if (session.target().password() == null) {
            fail("the backend asks for a password but the config has none for backend '" + session.target().name() + "'", "08004");
            return false;
        }
        return true;
    }

    private void fail(String message, String sqlState) {
        stopped = true;
        session.backendFailed(message, sqlState);
    }

    @Override
    protected void onBytes(int n) {
        session.backendBytes(n);
    }

    @Override
    protected void onBatchEnd(ChannelHandlerContext ctx) {
        if (phase == Phase.RELAY) {
            session.backendBatchEnd();
        } else {
            session.flushLogin();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        session.backendReadComplete();
    }

    @Override
    protected void onMalformed(ChannelHandlerContext ctx, int type, RuntimeException cause) {
        fail("the backend sent a malformed message " + RelaySession.describeType(type) + " (" + cause.getMessage() + ")", null);
    }

    @Override
    protected void onBadLength(ChannelHandlerContext ctx, int type, long length) {
        fail("the backend sent a message " + RelaySession.describeType(type) + " with invalid length " + length, null);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        session.updateClientAutoRead();
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        super.channelInactive(ctx);
        session.backendClosed();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!session.closed()) {
            session.backendFailed("the connection to the backend " + session.describeBackend() + " failed: " + cause.getMessage(), null);
        }
        ctx.close();
    }
}
