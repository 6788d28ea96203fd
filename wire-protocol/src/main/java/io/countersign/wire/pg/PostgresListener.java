package io.countersign.wire.pg;

import io.countersign.wire.spi.AgentAuthenticator;
import io.countersign.wire.spi.StatementGate;
import io.countersign.wire.spi.StatementListener;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * A PostgreSQL listener: accepts agents speaking the PostgreSQL frontend/backend protocol v3,
 * authenticates them as Countersign agents, and relays each session to its backend through the gate.
 *
 * <p>Usage: {@code PostgresListener.builder().bind(addr).authenticator(a).gate(g).listener(l).build().start()}.
 */
public final class PostgresListener implements AutoCloseable {

    /** Authentication mechanisms Countersign may offer to agents. */
    public enum AuthMethod { SCRAM_SHA_256, MD5, CLEARTEXT_OVER_TLS }

    private final Settings settings;

    private PostgresListener(Settings settings) {
        this.settings = settings;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Binds and starts accepting; returns the bound address (port 0 in {@link Builder#bind} picks a free one). */
    public InetSocketAddress start() throws InterruptedException {
        throw new UnsupportedOperationException("PostgresListener.start: not implemented yet");
    }

    /** Stops accepting and closes every session. */
    @Override
    public void close() {
        // nothing started yet
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
            String serverVersion) {}

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

        public PostgresListener build() {
            Objects.requireNonNull(authenticator, "authenticator");
            return new PostgresListener(new Settings(bind, tls, requireTls, authMethods, authenticator, gate, listener, metrics, serverVersion));
        }
    }
}
