package io.countersign.server.runtime;

import io.countersign.server.admin.AdminHttpServer;
import io.countersign.server.admin.ReadinessCheck;
import io.countersign.server.auth.ConfigAgentAuthenticator;
import io.countersign.server.config.AdminConfig;
import io.countersign.server.config.AuthMethod;
import io.countersign.server.config.BackendConfig;
import io.countersign.server.config.BackendType;
import io.countersign.server.config.CountersignConfig;
import io.countersign.server.config.MySqlAuthMethod;
import io.countersign.server.config.MySqlListenerConfig;
import io.countersign.server.config.PostgresListenerConfig;
import io.countersign.server.config.TlsConfig;
import io.countersign.server.gate.StatementLog;
import io.countersign.wire.mysql.MySqlListener;
import io.countersign.wire.pg.PostgresListener;
import io.countersign.wire.spi.Protocol;
import io.countersign.wire.spi.StatementGate;
import io.countersign.wire.spi.StatementListener;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.File;
import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Countersign: the listeners from the config, all sharing one {@link StatementGate} and
 * one {@link StatementListener}, plus the admin HTTP server and the metrics registry.
 * {@code serve} and {@code demo} both build one.
 */
public final class CountersignServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CountersignServer.class);

    private final CountersignConfig config;
    private StatementGate gate;
    private StatementListener statements;
    private Components components;
    private final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
    private AdminHttpServer admin;
    private PostgresListener postgres;
    private volatile InetSocketAddress postgresAddress;
    private io.countersign.tracking.AuditSqlEndpoint auditEndpoint;
    private MySqlListener mysql;
    private volatile InetSocketAddress mysqlAddress;
    private boolean closed;
    private io.countersign.server.auth.AgentTokenVerifier agentTokens;

    private CountersignServer(CountersignConfig config, StatementGate gate, StatementListener statements) {
        this.config = config;
        this.gate = gate;
        this.statements = statements;
    }

    /**
     * A server for {@code config} with the whole pipeline: analysis, policy, approvals, tracking and
     * audit behind the gate ({@link io.countersign.server.gate.CountersignGate}), built when it starts.
     */
    public static CountersignServer of(CountersignConfig config) {
        return new CountersignServer(config, null, null);
    }

    /** For later issues and tests: the same server with another gate or statement listener. */
    public static CountersignServer of(CountersignConfig config, StatementGate gate, StatementListener statements) {
        return new CountersignServer(config, gate, statements);
    }

    /** Binds the admin port, then the listeners. On failure everything started so far is closed again. */
    public synchronized CountersignServer start() throws Exception {
        new JvmMemoryMetrics().bindTo(metrics);
        gcMetrics.bindTo(metrics);
        new JvmThreadMetrics().bindTo(metrics);
        new ClassLoaderMetrics().bindTo(metrics);
        new ProcessorMetrics().bindTo(metrics);
        new UptimeMetrics().bindTo(metrics);
        try {
            AdminConfig a = config.admin();
            admin = new AdminHttpServer(new InetSocketAddress(a.host(), a.port()), metrics);
            if (config.listeners().postgres() != null) {
                admin.addReadinessCheck("postgres-listener", () -> postgresAddress != null
                        ? ReadinessCheck.Status.ready("accepting agents on " + hostPort(postgresAddress))
                        : ReadinessCheck.Status.notReady("the PostgreSQL listener is not bound"));
            }
            if (config.listeners().mysql() != null) {
                admin.addReadinessCheck("mysql-listener", () -> mysqlAddress != null
                        ? ReadinessCheck.Status.ready("accepting agents on " + hostPort(mysqlAddress))
                        : ReadinessCheck.Status.notReady("the MySQL listener is not bound"));
            }
            for (BackendConfig b : config.backends()) {
                admin.addReadinessCheck(b.type() == BackendType.MYSQL ? "backend:mysql:" + b.name() : "backend:" + b.name(),
                        b.type() == BackendType.MYSQL ? () -> mysqlGreets(b) : new BackendProbe(b));
            }
            if (gate == null) {
                components = Components.start(config, metrics, admin, "http://" + hostPort(new InetSocketAddress(a.host(), a.port())) + "/console/");
                gate = components.gate();
                statements = components.listener();
            }
            InetSocketAddress adminAddress = admin.start();
            log.info("admin HTTP on http://{}/ (healthz, readyz, metrics)", hostPort(adminAddress));

            var sqlEndpoint = config.tracking().sqlEndpoint();
            if (sqlEndpoint.enabled()) {
                java.nio.file.Path auditDir = config.audit().directory() != null ? java.nio.file.Path.of(config.audit().directory())
                        : config.dataPath().resolve("audit");
                auditEndpoint = new io.countersign.tracking.AuditSqlEndpoint(auditDir, sqlEndpoint.threads(), sqlEndpoint.maxRows());
                log.info("audit SQL endpoint: database {} over {} for {} analyst(s)", sqlEndpoint.database(), auditDir,
                        sqlEndpoint.analysts().size());
            }
            agentTokens = ConfigAgentAuthenticator.tokenVerifier(config);
            PostgresListenerConfig pg = config.listeners().postgres();
            if (pg != null) {
                postgres = PostgresListener.builder()
                        .bind(new InetSocketAddress(pg.host(), pg.port()))
                        .tls(sslContext(pg.tls()))
                        .requireTls(pg.tls() != null && pg.tls().required())
                        .authMethods(authMethods(pg))
                        .authenticator(new ConfigAgentAuthenticator(config, Protocol.POSTGRESQL, agentTokens)
                                .withAuditEndpoint(auditEndpoint == null ? null : auditEndpoint::open))
                        .gate(gate)
                        .listener(statements)
                        .metrics(metrics)
                        .build();
                postgresAddress = postgres.start();
                log.info("PostgreSQL listener on {}", hostPort(postgresAddress));
            }

            MySqlListenerConfig my = config.listeners().mysql();
            if (my != null) {
                mysql = MySqlListener.builder()
                        .bind(new InetSocketAddress(my.host(), my.port()))
                        .tls(sslContext(my.tls()))
                        .requireTls(my.tls() != null && my.tls().required())
                        .authMethods(mysqlAuthMethods(my))
                        .authenticator(new ConfigAgentAuthenticator(config, Protocol.MYSQL, agentTokens))
                        .gate(gate)
                        .listener(statements)
                        .metrics(metrics)
                        .serverVersion(my.serverVersion() != null ? my.serverVersion() : mysqlBackendVersion(config))
                        .eventLoopThreads(my.eventLoopThreads() != null ? my.eventLoopThreads() : MySqlListener.defaultEventLoopThreads())
                        .build();
                mysqlAddress = mysql.start();
                log.info("MySQL listener on {} ({} event-loop threads)", hostPort(mysqlAddress), mysql.eventLoopThreads());
            }
            return this;
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    /** The PostgreSQL listener's bound address, or {@code null} when the config has no listeners.postgres. */
    public InetSocketAddress postgresAddress() {
        return postgresAddress;
    }

    /** The MySQL listener's bound address, or {@code null} when the config has no listeners.mysql. */
    public InetSocketAddress mysqlAddress() {
        return mysqlAddress;
    }

    public InetSocketAddress adminAddress() {
        return admin == null ? null : admin.address();
    }

    /** Where other components mount their HTTP endpoints and readiness checks. */
    public AdminHttpServer admin() {
        return admin;
    }

    /** The pipeline's parts (approvals, audit, ...) when this server built them; {@code null} with a test gate. */
    public Components components() {
        return components;
    }

    public PrometheusMeterRegistry metrics() {
        return metrics;
    }

    public CountersignConfig config() {
        return config;
    }

    /** Blocks until {@link #close()} has run (from a shutdown hook, for instance). */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    /** Stops accepting, closes sessions, then the admin port. Safe to call more than once. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (postgres != null) {
                postgres.close();
            }
        } catch (RuntimeException e) {
            log.warn("closing the PostgreSQL listener failed", e);
        }
        postgresAddress = null;
        try {
            if (mysql != null) {
                mysql.close();
            }
        } catch (RuntimeException e) {
            log.warn("closing the MySQL listener failed", e);
        }
        mysqlAddress = null;
        if (admin != null) {
            admin.close();
        }
        if (components != null) {
            components.close();
        }
        if (agentTokens != null) {
            agentTokens.close();
        }
        if (auditEndpoint != null) {
            auditEndpoint.close();
        }
        gcMetrics.close();
        metrics.close();
        stopped.countDown();
    }

    private static Set<PostgresListener.AuthMethod> authMethods(PostgresListenerConfig pg) {
        Set<PostgresListener.AuthMethod> methods = EnumSet.noneOf(PostgresListener.AuthMethod.class);
        for (AuthMethod m : pg.auth()) {
            methods.add(switch (m) {
                case SCRAM_SHA_256 -> PostgresListener.AuthMethod.SCRAM_SHA_256;
                case MD5 -> PostgresListener.AuthMethod.MD5;
                case CLEARTEXT_OVER_TLS -> PostgresListener.AuthMethod.CLEARTEXT_OVER_TLS;
            });
        }
        return methods;
    }

    /**
     * Readiness of a MySQL backend: a MySQL server speaks first, with a greeting packet whose first
     * payload byte is the protocol version 10 (or 0xff, an error such as "too many connections").
     * Reading the header and that byte proves a MySQL server answers without logging in.
     */
    private static ReadinessCheck.Status mysqlGreets(BackendConfig b) {
        String where = b.where();
        try {
            byte[] greeting = MySqlGreeting.read(b, 1000);
            int first = greeting.length > 0 ? greeting[0] & 0xff : -1;
            if (first == 10) {
                return ReadinessCheck.Status.ready("MySQL answers at " + where);
            }
            if (first == 0xff) {
                return ReadinessCheck.Status.notReady("the MySQL server at " + where + " refuses connections (error packet in the greeting)");
            }
            return ReadinessCheck.Status.notReady("something at " + where + " answered, but not like MySQL (first byte " + first + ")");
        } catch (java.io.IOException e) {
            return ReadinessCheck.Status.notReady("no answer from " + where + ": " + e.getMessage());
        }
    }

    /**
     * The version the first reachable MySQL backend names in its greeting, or {@code null}. Drivers
     * pick features by the version in Countersign's greeting (MySQL Connector/J asks a "8.0" server
     * for transaction_isolation, which MariaDB does not have), so agents must see the backend's
     * from their first connection on, not only after a session has reached it.
     */
    private static String mysqlBackendVersion(CountersignConfig config) {
        for (BackendConfig b : config.backends()) {
            if (b.type() != BackendType.MYSQL) {
                continue;
            }
            try {
                byte[] payload = MySqlGreeting.read(b, 1000);
                if (payload.length > 1 && payload[0] == 10) {
                    int end = 1;
                    while (end < payload.length && payload[end] != 0) end++;
                    String version = new String(payload, 1, end - 1, java.nio.charset.StandardCharsets.US_ASCII);
                    log.info("MySQL listener shows agents the version of backend {}: {}", b.name(), version);
                    return version;
                }
            } catch (java.io.IOException e) {
                log.warn("MySQL backend {} at {} did not greet ({}); agents see a default version until a session reaches it",
                        b.name(), b.where(), e.getMessage());
            }
        }
        return null;
    }

    private static Set<MySqlListener.AuthMethod> mysqlAuthMethods(MySqlListenerConfig my) {
        Set<MySqlListener.AuthMethod> methods = EnumSet.noneOf(MySqlListener.AuthMethod.class);
        for (MySqlAuthMethod m : my.auth()) {
            methods.add(switch (m) {
                case CACHING_SHA2_PASSWORD -> MySqlListener.AuthMethod.CACHING_SHA2_PASSWORD;
                case MYSQL_NATIVE_PASSWORD -> MySqlListener.AuthMethod.MYSQL_NATIVE_PASSWORD;
            });
        }
        return methods;
    }

    private static SslContext sslContext(TlsConfig tls) throws SSLException {
        if (tls == null) {
            return null;
        }
        if (tls.selfSigned()) {
            SelfSignedCertificate cert = SelfSignedCertificate.forLocalhost();
            return SslContextBuilder.forServer(cert.key(), cert.certificate()).build();
        }
        try {
            return SslContextBuilder.forServer(new File(tls.cert()), new File(tls.key())).build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new SSLException("cannot use TLS certificate " + tls.cert() + " with key " + tls.key()
                    + ": " + e.getMessage() + " (expected a PEM certificate chain and a PEM PKCS#8 private key)", e);
        }
    }

    static String hostPort(InetSocketAddress a) {
        String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }
}
