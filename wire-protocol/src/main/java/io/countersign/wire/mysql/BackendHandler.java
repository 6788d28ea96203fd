package io.countersign.wire.mysql;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * The backend connection's handler: runs {@link BackendLogin}, then hands every packet to the
 * {@link ClientSession} that owns it. Both channels share one event loop, so calls go straight through.
 */
final class BackendHandler extends ChannelInboundHandlerAdapter {

    private final ClientSession session;
    private final BackendLogin login;
    private final SslContext tls;
    private final String tlsHost;
    private final int tlsPort;
    private boolean ready;
    private boolean greeted;
    private int seq;

    BackendHandler(ClientSession session, BackendLogin login, SslContext tls, String tlsHost, int tlsPort) {
        this.session = session;
        this.login = login;
        this.tls = tls;
        this.tlsHost = tlsHost;
        this.tlsPort = tlsPort;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof FrameError e) {
            session.backendBroken(ctx.channel(), "it sent a malformed packet stream (" + e + ")");
            return;
        }
        if (msg instanceof Frames f) {
            if (ready) {
                session.backendFrames(ctx.channel(), f.frames());
            } else {
                f.release();
            }
            return;
        }
        if (!(msg instanceof Packet p)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (ready) {
            session.backendPacket(ctx.channel(), p);
            return;
        }
        try {
            seq = p.lastSequenceId();
            BackendLogin.Step step = greeted ? login.answer(ctx.alloc(), p.payload()) : login.greeting(ctx.alloc(), p.payload());
            greeted = true;
            handle(ctx, step);
        } catch (RuntimeException e) {
            session.backendBroken(ctx.channel(), "its login exchange could not be read (" + e.getMessage() + ")");
        } finally {
            p.release();
        }
    }

    private void handle(ChannelHandlerContext ctx, BackendLogin.Step step) {
        switch (step) {
            case BackendLogin.Step.Send s -> {
                seq = (seq + 1) & 0xFF;
                ctx.writeAndFlush(new Packet(seq, s.payload()));
            }
            case BackendLogin.Step.StartTls t -> {
                seq = (seq + 1) & 0xFF;
                ctx.writeAndFlush(new Packet(seq, t.sslRequest()));
                SslHandler ssl = tls.newHandler(ctx.alloc(), tlsHost, tlsPort);
                ctx.pipeline().addFirst("tls", ssl);
            }
            case BackendLogin.Step.Wait w -> { }
            case BackendLogin.Step.Done d -> {
                ready = true;
                if (ctx.pipeline().get("framer") instanceof PacketDecoder decoder) {
                    decoder.emitFrames();
                }
                session.backendReady(ctx.channel(), login);
            }
            case BackendLogin.Step.Failed f -> session.backendFailed(ctx.channel(), f.error());
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent e && !ready) {
            if (e.isSuccess()) {
                handle(ctx, login.afterTls(ctx.alloc()));
            } else {
                session.backendBroken(ctx.channel(), "the TLS handshake failed: " + e.cause().getMessage());
            }
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (ready) {
            session.backendReadComplete();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        session.backendWritabilityChanged(ctx.channel().isWritable());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        session.backendClosed(ctx.channel());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        session.backendBroken(ctx.channel(), cause.getClass().getSimpleName() + ": " + cause.getMessage());
    }
}
