package io.countersign.wire.mysql;

import io.countersign.wire.spi.AgentAuthenticator;
import io.countersign.wire.spi.BackendTarget;
import io.countersign.wire.spi.StatementGate;
import io.countersign.wire.spi.StatementListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLException;

/**
 * A MySQL listener: accepts agents speaking the MySQL client/server protocol (Handshake v10,
 * protocol 4.1), authenticates them as Countersign agents (caching_sha2_password,
 * mysql_native_password), logs in to each agent's backend with Countersign's own credentials and
 * relays the session through the gate.
 *
 * <p>Usage: {@code MySqlListener.builder().bind(addr).authenticator(a).gate(g).listener(l).build().start()}.
 */
public final class MySqlListener implements AutoCloseable {

    /** Authentication plugins Countersign may offer to agents; the first in the set is announced in the greeting. */
    public enum AuthMethod {
        CACHING_SHA2_PASSWORD(Scramble.CACHING_SHA2), MYSQL_NATIVE_PASSWORD(Scramble.NATIVE);

        final String plugin;

        AuthMethod(String plugin) {
            this.plugin = plugin;
        }
    }

    /** Connection ids are unique across the process, so a KILL can never name another listener's session. */
    private static final AtomicLong CONNECTION_IDS = new AtomicLong();

    private final Settings settings;
    private final Map<Long, ClientSession> sessions = new ConcurrentHashMap<>();
    private final Map<String, byte[]> sha2Cache = new ConcurrentHashMap<>();
    private final Counter authFailures;
    private volatile String serverVersion;
    private KeyPair rsaKeys;
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private Class<? extends Channel> socketType = NioSocketChannel.class;
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);
    private Channel serverChannel;
    private SslContext insecureBackendTls;
    private SslContext verifyingBackendTls;

    private MySqlListener(Settings settings) {
        this.settings = settings;
        this.serverVersion = settings.serverVersion() != null ? settings.serverVersion() : "8.0.40-countersign";
        this.authFailures = Counter.builder("countersign_auth_failures_total").tag("protocol", "mysql")
                .description("Failed agent logins").register(settings.metrics());
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The event-loop thread count when none is configured: one on a machine of one or two
     * processors, one per processor above that. On two cores shared with the database and the
     * clients, one loop served 8 and 32 sysbench threads with a fifth to a third fewer context
     * switches and mostly 3-10 % less CPU per statement than two, at the same TPS: two loops each
     * sleep and are woken for fewer events (bench/RESULTS-mysql-cpu.md, 2026-12-07). Larger machines were not
     * measured, so they keep one loop per processor.
     */
    public static int defaultEventLoopThreads() {
        return defaultEventLoopThreads(Runtime.getRuntime().availableProcessors());
    }

    static int defaultEventLoopThreads(int processors) {
        return processors <= 2 ? 1 : processors;
    }

    /** Binds and starts accepting; returns the bound address (port 0 in {@link Builder#bind} picks a free one). */
    public synchronized InetSocketAddress start() throws InterruptedException {
        if (serverChannel != null) {
            return (InetSocketAddress) serverChannel.localAddress();
        }
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            rsaKeys = g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("RSA is missing from this JDK; caching_sha2_password needs it", e);
        }
        // the native epoll transport where there is one: fewer syscalls and wake-ups per round trip
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        socketType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
        boss = new MultiThreadIoEventLoopGroup(1, io);
        workers = new MultiThreadIoEventLoopGroup(settings.eventLoopThreads(), io);
        Class<? extends ServerChannel> serverType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        ServerBootstrap b = new ServerBootstrap().group(boss, workers).channel(serverType)
                .childOption(ChannelOption.TCP_NODELAY, true)
                // a large result keeps flowing while up to 256 KiB wait for the agent; above that the
                // backend's reads pause until it drains below 64 KiB
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ClientSession s = new ClientSession(MySqlListener.this, CONNECTION_IDS.incrementAndGet());
                        ch.pipeline().addLast("framer", s.decoder());
                        ch.pipeline().addLast("encoder", PacketEncoder.INSTANCE);
                        ch.pipeline().addLast("session", s);
                    }
                });
        serverChannel = b.bind(settings.bind()).sync().channel();
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /** Stops accepting and closes every session. */
    @Override
    public synchronized void close() {
        if (serverChannel != null) {
            serverChannel.close().syncUninterruptibly();
            serverChannel = null;
        }
        if (workers != null) {
            boss.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
            workers.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
            workers = null;
        }
    }

    /** How many event-loop threads serve the sessions. */
    public int eventLoopThreads() {
        return settings.eventLoopThreads();
    }

    /** How many agent sessions are open now. */
    public int sessionCount() {
        return sessions.size();
    }

    /**
     * The backend's thread id for one of this listener's connections (the id the agent sees), or
     * empty when there is no such connection or it has no backend yet. For operators and the audit.
     */
    public java.util.OptionalLong backendThreadId(long connectionId) {
        ClientSession s = sessions.get(connectionId);
        long id = s == null ? 0 : s.backendThreadId();
        return id > 0 ? java.util.OptionalLong.of(id) : java.util.OptionalLong.empty();
    }

    Settings settings() {
        return settings;
    }

    void register(ClientSession s) {
        sessions.put(s.connectionId, s);
    }

    void unregister(ClientSession s) {
        sessions.remove(s.connectionId, s);
    }

    ClientSession session(long connectionId) {
        return sessions.get(connectionId);
    }

    KeyPair rsaKeys() {
        return rsaKeys;
    }

    Map<String, byte[]> sha2Cache() {
        return sha2Cache;
    }

    void authFailed() {
        authFailures.increment();
    }

    String serverVersion() {
        return serverVersion;
    }

    /** The plugin this connection's greeting names (see {@link Builder#announce}). */
    String announcedPlugin() {
        if (settings.defaultPlugin() != null) {
            return settings.defaultPlugin();
        }
        boolean mariaDbVersion = serverVersion.startsWith("5.5.5-");
        if (mariaDbVersion && settings.authPlugins().contains(Scramble.NATIVE)) {
            return Scramble.NATIVE;
        }
        return settings.authPlugins().contains(Scramble.CACHING_SHA2) ? Scramble.CACHING_SHA2 : Scramble.NATIVE;
    }

    /** Without a configured version, agents are shown the version of the backend seen last. */
    void learnServerVersion(String version) {
        if (settings.serverVersion() == null && version != null) {
            serverVersion = version;
        }
    }

    Class<? extends Channel> clientChannelType() {
        return socketType;
    }

    synchronized SslContext backendTls(BackendTarget t) {
        if (t.tls() == null || t.tls() == BackendTarget.TlsMode.DISABLE) {
            return null;
        }
        try {
            if (t.tls() == BackendTarget.TlsMode.VERIFY_FULL) {
                if (verifyingBackendTls == null) {
                    verifyingBackendTls = SslContextBuilder.forClient().endpointIdentificationAlgorithm("HTTPS").build();
                }
                return verifyingBackendTls;
            }
            if (insecureBackendTls == null) {
                // PREFER/REQUIRE encrypt without checking the certificate, as libmysqlclient's REQUIRED does
                insecureBackendTls = SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE).build();
            }
            return insecureBackendTls;
        } catch (SSLException e) {
            throw new IllegalStateException("could not build the backend TLS context: " + e.getMessage(), e);
        }
    }

    /** Everything a listener needs, fixed at build time. */
    record Settings(
            InetSocketAddress bind,
            SslContext tls,
            boolean requireTls,
            Set<String> authPlugins,
            String defaultPlugin,
            AgentAuthenticator authenticator,
            StatementGate gate,
            StatementListener listener,
            MeterRegistry metrics,
            String serverVersion,
            long maxAllowedPacket,
            Duration loginTimeout,
            Duration backendConnectTimeout,
            String backendAuthPlugin,
            int eventLoopThreads) {}

    public static final class Builder {
        private InetSocketAddress bind = new InetSocketAddress("127.0.0.1", 3307);
        private SslContext tls;
        private boolean requireTls;
        private Set<AuthMethod> authMethods = EnumSet.of(AuthMethod.CACHING_SHA2_PASSWORD, AuthMethod.MYSQL_NATIVE_PASSWORD);
        private AgentAuthenticator authenticator;
        private StatementGate gate = StatementGate.ALLOW_ALL;
        private StatementListener listener = StatementListener.IGNORE;
        private MeterRegistry metrics = new SimpleMeterRegistry();
        private String serverVersion;
        private long maxAllowedPacket = 64L * 1024 * 1024;
        private Duration loginTimeout = Duration.ofSeconds(10);
        private Duration backendConnectTimeout = Duration.ofSeconds(10);
        private String backendAuthPlugin;
        private AuthMethod announced;
        private int eventLoopThreads = defaultEventLoopThreads();

        public Builder bind(InetSocketAddress bind) { this.bind = bind; return this; }
        /** Server-side TLS for agents' SSL upgrade; {@code null} does not offer CLIENT_SSL. */
        public Builder tls(SslContext tls) { this.tls = tls; return this; }
        public Builder requireTls(boolean requireTls) { this.requireTls = requireTls; return this; }
        /** Plugins offered to agents; caching_sha2_password is announced when it is in the set. */
        public Builder authMethods(Set<AuthMethod> methods) { this.authMethods = EnumSet.copyOf(methods); return this; }
        /**
         * The plugin named in the greeting. Unset: mysql_native_password while the version shown
         * is MariaDB's ("5.5.5-..."), as MariaDB itself does (drivers that take such a server for
         * MySQL before 5.5.16, like MySQL Connector/J, mishandle caching_sha2_password's extra round
         * trip), caching_sha2_password otherwise.
         */
        public Builder announce(AuthMethod method) { this.announced = method; return this; }
        public Builder authenticator(AgentAuthenticator authenticator) { this.authenticator = authenticator; return this; }
        public Builder gate(StatementGate gate) { this.gate = gate; return this; }
        public Builder listener(StatementListener listener) { this.listener = listener; return this; }
        public Builder metrics(MeterRegistry metrics) { this.metrics = metrics; return this; }
        /**
         * The server version agents see in the greeting. Drivers pick features by it, so set it to
         * the backend's (e.g. "5.5.5-10.11.6-MariaDB" or "8.0.36"); unset, the last backend's is used.
         */
        public Builder serverVersion(String serverVersion) { this.serverVersion = serverVersion; return this; }
        /** Longest packet accepted from an agent (default 64 MiB); longer ones get ERR 1153 and the connection closes. */
        public Builder maxAllowedPacket(long bytes) { this.maxAllowedPacket = bytes; return this; }
        public Builder loginTimeout(Duration timeout) { this.loginTimeout = timeout; return this; }
        public Builder backendConnectTimeout(Duration timeout) { this.backendConnectTimeout = timeout; return this; }
        /**
         * The plugin Countersign first answers a backend's greeting with; unset, the one the backend
         * announces. A backend that wants another switches with AuthSwitchRequest.
         */
        public Builder backendAuthPlugin(String plugin) { this.backendAuthPlugin = plugin; return this; }
        /** Threads serving sessions (a session's agent and backend connections share one); default {@link #defaultEventLoopThreads()}. */
        public Builder eventLoopThreads(int threads) {
            if (threads < 1) {
                throw new IllegalArgumentException("eventLoopThreads must be at least 1, got " + threads);
            }
            this.eventLoopThreads = threads;
            return this;
        }

        public MySqlListener build() {
            Objects.requireNonNull(authenticator, "authenticator");
            if (authMethods.isEmpty()) {
                throw new IllegalArgumentException("authMethods: offer at least one of " + EnumSet.allOf(AuthMethod.class));
            }
            Set<String> plugins = new LinkedHashSet<>();
            authMethods.forEach(m -> plugins.add(m.plugin));
            String greeting = announced != null && authMethods.contains(announced) ? announced.plugin : null;
            return new MySqlListener(new Settings(bind, tls, requireTls, Set.copyOf(plugins), greeting, authenticator, gate,
                    listener, metrics, serverVersion, maxAllowedPacket, loginTimeout, backendConnectTimeout, backendAuthPlugin,
                    eventLoopThreads));
        }
    }
}
