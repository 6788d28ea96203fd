package io.countersign.wire.pg;

import io.countersign.wire.spi.AgentAuthenticator;
import io.countersign.wire.spi.StatementGate;
import io.countersign.wire.spi.StatementListener;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL listener: accepts agents speaking the PostgreSQL frontend/backend protocol v3,
 * authenticates them as Countersign agents, and relays each session to its backend through the gate.
 *
 * <p>Usage: {@code PostgresListener.builder().bind(addr).authenticator(a).gate(g).listener(l).build().start()}.
 * Each session's backend connection lives on the agent connection's event loop; the native epoll
 * transport is used when available.
 */
public final class PostgresListener implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PostgresListener.class);

    /** Authentication mechanisms Countersign may offer to agents. */
    public enum AuthMethod { SCRAM_SHA_256, MD5, CLEARTEXT_OVER_TLS }

    private final Settings settings;
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private Channel server;
    private ChannelGroup sessions;
    private Runtime runtime;

    private PostgresListener(Settings settings) {
        this.settings = settings;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Binds and starts accepting; returns the bound address (port 0 in {@link Builder#bind} picks a free one). */
    public synchronized InetSocketAddress start() throws InterruptedException {
        if (server != null) {
            throw new IllegalStateException("PostgresListener already started on " + server.localAddress());
        }
        Transport transport = settings.transport();
        boss = transport.newGroup(1);
        workers = transport.newGroup(settings.workerThreads());
        sessions = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
        runtime = new Runtime(settings, new PgMetrics(settings.metrics()), new CancelRegistry());
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, workers)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(64 * 1024, 256 * 1024))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        sessions.add(ch);
                        ch.pipeline().addLast("pg", new FrontendHandler(runtime));
                    }
                });
        try {
            server = b.bind(settings.bind()).sync().channel();
        } catch (Exception e) {
            close();
            throw new IllegalStateException("cannot listen for PostgreSQL clients on " + settings.bind() + ": " + e.getMessage()
                    + "; pick a free port or stop whatever holds it", e);
        }
        InetSocketAddress bound = (InetSocketAddress) server.localAddress();
        log.info("PostgreSQL listener on {} ({} transport, auth {}, tls {})", bound, transport.name(),
                settings.authMethods(), settings.tls() == null ? "off" : settings.requireTls() ? "required" : "offered");
        return bound;
    }

    /** The bound address once started, else null. */
    public synchronized InetSocketAddress address() {
        return server == null ? null : (InetSocketAddress) server.localAddress();
    }

    /** Stops accepting and closes every session. */
    @Override
    public synchronized void close() {
        if (server != null) {
            server.close().awaitUninterruptibly();
            server = null;
        }
        if (sessions != null) {
            sessions.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        if (boss != null) {
            boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
            boss = null;
        }
        if (workers != null) {
            workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
            workers = null;
        }
    }

    Settings settings() {
        return settings;
    }

    /** Everything a listener needs, fixed at build time. */
    record Settings(
            InetSocketAddress bind,
            SslContext tls,
            boolean requireTls,
            Set<AuthMethod> authMethods,
            AgentAuthenticator authenticator,
            StatementGate gate,
            StatementListener listener,
            MeterRegistry metrics,
            String serverVersion,
            int workerThreads,
            Transport transport) {}

    /** Shared state of a started listener, handed to each connection. */
    record Runtime(Settings settings, PgMetrics metrics, CancelRegistry cancels, AtomicLong sessionIds, byte[] fakeSaltKey) {
        Runtime(Settings settings, PgMetrics metrics, CancelRegistry cancels) {
            this(settings, metrics, cancels, new AtomicLong(), randomKey());
        }

        private static byte[] randomKey() {
            byte[] k = new byte[32];
            Scram.RANDOM.nextBytes(k);
            return k;
        }

        String nextSessionId() {
            return "pg-" + sessionIds.incrementAndGet();
        }

        /** A stable per-user salt for unknown users, so probing cannot tell them from real agents. */
        byte[] fakeSalt(String user) {
            return Arrays.copyOf(Scram.hmac(fakeSaltKey, user), 16);
        }
    }

    public static final class Builder {
        private InetSocketAddress bind = new InetSocketAddress("127.0.0.1", 6543);
        private SslContext tls;
        private boolean requireTls;
        private Set<AuthMethod> authMethods = EnumSet.of(AuthMethod.SCRAM_SHA_256);
        private AgentAuthenticator authenticator;
        private StatementGate gate = StatementGate.ALLOW_ALL;
        private StatementListener listener = StatementListener.IGNORE;
        private MeterRegistry metrics = new SimpleMeterRegistry();
        private String serverVersion;
        private int workerThreads = Math.max(1, java.lang.Runtime.getRuntime().availableProcessors());

        public Builder bind(InetSocketAddress bind) { this.bind = bind; return this; }
        /** Server-side TLS for agents' SSLRequest; {@code null} answers SSLRequest with 'N'. */
        public Builder tls(SslContext tls) { this.tls = tls; return this; }
        public Builder requireTls(boolean requireTls) { this.requireTls = requireTls; return this; }
        public Builder authMethods(Set<AuthMethod> methods) { this.authMethods = EnumSet.copyOf(methods); return this; }
        public Builder authenticator(AgentAuthenticator authenticator) { this.authenticator = authenticator; return this; }
        public Builder gate(StatementGate gate) { this.gate = gate; return this; }
        public Builder listener(StatementListener listener) { this.listener = listener; return this; }
        public Builder metrics(MeterRegistry metrics) { this.metrics = metrics; return this; }
        /** Overrides the server_version reported before the backend's own ParameterStatus arrives; normally unset. */
        public Builder serverVersion(String serverVersion) { this.serverVersion = serverVersion; return this; }
        /** Event loop threads for sessions; defaults to the number of cores. */
        public Builder workerThreads(int threads) {
            if (threads < 1) {
                throw new IllegalArgumentException("workerThreads must be at least 1, got " + threads);
            }
            this.workerThreads = threads;
            return this;
        }

        public PostgresListener build() {
            Objects.requireNonNull(authenticator, "authenticator");
            if (authMethods.isEmpty()) {
                throw new IllegalArgumentException("authMethods is empty: allow at least SCRAM_SHA_256");
            }
            if (requireTls && tls == null) {
                throw new IllegalArgumentException("requireTls is set but no TLS context was given: configure a certificate");
            }
            return new PostgresListener(new Settings(bind, tls, requireTls, authMethods, authenticator, gate, listener, metrics,
                    serverVersion, workerThreads, Transport.best()));
        }
    }
}
