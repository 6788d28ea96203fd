package io.countersign.server.runtime;

import io.countersign.approvals.ApprovalService;
import io.countersign.approvals.ReviewerDirectory;
import io.countersign.approvals.policy.PolicyEngine;
import io.countersign.approvals.policy.PolicyHolder;
import io.countersign.approvals.policy.PolicyRule;
import io.countersign.approvals.oidc.Oidc;
import io.countersign.approvals.oidc.OidcSettings;
import io.countersign.approvals.rest.ApprovalsApi;
import io.countersign.approvals.rest.ReviewerAuthenticator;
import java.net.URI;
import io.countersign.approvals.slack.SlackIntegration;
import io.countersign.approvals.slack.SlackReviewers;
import io.countersign.approvals.slack.SlackSettings;
import io.countersign.approvals.teams.TeamsIntegration;
import io.countersign.approvals.teams.TeamsSettings;
import io.countersign.approvals.rest.ConsoleHandler;
import io.countersign.approvals.store.ApprovalStore;
import io.countersign.approvals.store.H2ApprovalStore;
import io.countersign.approvals.store.PgApprovalStore;
import io.countersign.audit.AdminRecord;
import io.countersign.audit.AuditTrail;
import io.countersign.audit.Retention;
import java.util.concurrent.Executors;
import io.countersign.server.admin.AdminHttpServer;
import io.countersign.server.admin.ReadinessCheck;
import io.countersign.server.config.CountersignConfig;
import io.countersign.server.gate.CountersignGate;
import io.countersign.server.gate.StatementLog;
import io.countersign.server.pipeline.ApprovalAudit;
import io.countersign.server.pipeline.AuditingListener;
import io.countersign.server.pipeline.Pipeline;
import io.countersign.wire.spi.StatementGate;
import io.countersign.wire.spi.StatementListener;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Properties;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything behind the gate, built from the config in dependency order and closed in reverse:
 * the audit trail first (nothing may run unaudited), then the approvals store and service, the
 * policy, the analysis pipeline, and finally the gate and the statement listener that use them.
 */
public final class Components implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Components.class);

    private final AuditTrail audit;
    private final ApprovalService approvals;
    private final PolicyHolder policyHolder;
    private final Pipeline pipeline;
    private final CountersignGate gate;
    private final AuditingListener listener;
    private final String consoleUrl;
    private SlackIntegration slack;
    private TeamsIntegration teams;

    private Components(AuditTrail audit, ApprovalService approvals, PolicyHolder policyHolder, Pipeline pipeline,
                       CountersignGate gate, AuditingListener listener, String consoleUrl) {
        this.audit = audit;
        this.approvals = approvals;
        this.policyHolder = policyHolder;
        this.pipeline = pipeline;
        this.gate = gate;
        this.listener = listener;
        this.consoleUrl = consoleUrl;
    }

    /** The audit's counters on /metrics: a failing or lagging trail must show on the operator's dashboards. */
    private static void auditMetrics(AuditTrail a, MeterRegistry metrics) {
        io.micrometer.core.instrument.Gauge.builder("countersign_audit_healthy", a, t -> t.health().ok() ? 1 : 0)
                .description("1 while the audit trail can write, 0 while its storage is failing").register(metrics);
        io.micrometer.core.instrument.FunctionCounter.builder("countersign_audit_records_acknowledged", a, t -> t.stats().acknowledged())
                .description("audit records made durable").register(metrics);
        io.micrometer.core.instrument.FunctionCounter.builder("countersign_audit_records_refused", a, t -> t.stats().refused())
                .description("audit appends refused: storage failing (fail-closed), backlog full or closed").register(metrics);
        io.micrometer.core.instrument.FunctionCounter.builder("countersign_audit_records_rejected", a, t -> t.stats().rejected())
                .description("audit records rejected as invalid (over the size limit)").register(metrics);
        io.micrometer.core.instrument.FunctionCounter.builder("countersign_audit_fsyncs", a, t -> t.stats().fsyncs())
                .description("journal fsyncs").register(metrics);
        io.micrometer.core.instrument.FunctionCounter.builder("countersign_audit_records_fast_path", a, t -> t.stats().fastPath())
                .description("audit records staged (in shared memory, or in the journal file) on the statement's own thread, with no hand-off to the journal thread").register(metrics);
        io.micrometer.core.instrument.Gauge.builder("countersign_audit_staged_bytes", a, t -> t.stats().stagedBytes())
                .description("bytes of acknowledged audit records in the shared-memory staging ring, not yet in the journal file").register(metrics);
        io.micrometer.core.instrument.Gauge.builder("countersign_audit_records_pending", a, t -> t.stats().pending())
                .description("audit records waiting for the journal thread or an fsync").register(metrics);
        io.micrometer.core.instrument.Gauge.builder("countersign_audit_parquet_backlog", a, AuditTrail::parquetBacklog)
                .description("durable audit records in the journal not yet written to Parquet").register(metrics);
    }

    static Components start(CountersignConfig config, MeterRegistry metrics, AdminHttpServer admin, String defaultConsoleUrl) throws IOException {
        Path data = config.dataPath();
        Files.createDirectories(data);
        String instance = instanceName(config);
        AuditTrail audit = null;
        ApprovalService approvals = null;
        PolicyHolder holder = null;
        Pipeline pipeline = null;
        java.util.concurrent.ScheduledExecutorService retention = null;
        try {
            if (config.audit().enabled()) {
                audit = AuditTrail.open(config.audit().toAuditConfig(data.resolve("audit"), instance));
                AuditTrail a = audit;
                admin.addReadinessCheck("audit", () -> a.health().ok()
                        ? ReadinessCheck.Status.ready("writing to " + a.config().directory())
                        : ReadinessCheck.Status.notReady("audit storage failing: " + a.health()));
                audit.append(AdminRecord.of(Instant.now(), AdminRecord.Event.START, instance, "countersign started"));
                auditMetrics(a, metrics);
            }
            if (audit != null && config.audit().retentionDays() != null) {
                AuditTrail a = audit;
                int days = config.audit().retentionDays();
                retention = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("countersign-audit-retention").factory());
                retention.scheduleAtFixedRate(() -> {
                    try {
                        var r = Retention.apply(a, days, "retention (" + days + " days)");
                        log.info("audit retention: {}", r);
                    } catch (Exception e) {
                        log.error("audit retention failed: {}", e.toString());
                    }
                }, 1, 24 * 60, java.util.concurrent.TimeUnit.MINUTES);
            }
            ReviewerDirectory reviewers = config.approvals().reviewerDirectory(config, "approvals.reviewers");
            ApprovalStore store = openStore(config, data, instance);
            var ticketAgents = new HashSet<>(config.approvals().ticketAgents());
            approvals = new ApprovalService(store, reviewers,
                    ApprovalService.Options.defaults().withReplica(instance).withTicketMode(ticketAgents::contains));
            if (audit != null) {
                approvals.addListener(new ApprovalAudit(audit));
            }
            Supplier<PolicyEngine> policy;
            if (config.policy().file() != null) {
                holder = PolicyHolder.watch(Path.of(config.policy().file()), Duration.ofSeconds(config.policy().reloadSeconds()));
                PolicyHolder h = holder;
                AuditTrail a = audit;
                holder.addListener(event -> {
                    log.info("policy: {}", event);
                    if (a != null) {
                        a.append(new AdminRecord(Instant.now(), AdminRecord.Event.POLICY_RELOAD, "policy file", event.toString(), h.current().sha256(), java.util.List.of()));
                    }
                });
                policy = h::current;
            } else {
                PolicyEngine engine = PolicyEngine.defaultPolicy();
                policy = () -> engine;
            }
            log.info("policy: {} (sha256 {})", policy.get().source(), policy.get().sha256());
            String consoleUrl = config.approvals().consoleUrl() != null ? config.approvals().consoleUrl() : defaultConsoleUrl;
            pipeline = new Pipeline(config, metrics);
            CountersignGate gate = new CountersignGate(config, pipeline, policy, approvals, audit, consoleUrl);
            AuditingListener listener = new AuditingListener(pipeline, approvals, audit, new StatementLog());
            admin.mount("/api/", new ApprovalsApi(approvals, reviewerAuthenticator(config, reviewers, admin, consoleUrl, data)));
            admin.mount("/console", new ConsoleHandler());
            // the usage page and its data (tracking, over the audit's files), with the approvals API's reviewer tokens
            var usage = new io.countersign.tracking.UsageApi(audit != null ? audit.config().directory() : data.resolve("audit"), reviewers);
            admin.mount("/api/usage", usage);
            admin.mount("/console/usage", usage);
            Components components = new Components(audit, approvals, holder, pipeline, gate, listener, consoleUrl);
            components.retention = retention;
            if (config.slack() != null) {
                SlackSettings settings = SlackSettings.parse(config.slack(), "slack");
                if (settings.consoleBaseUrl().isEmpty()) {
                    settings = settings.withConsoleBaseUrl(consoleUrl.replaceFirst("/console/?$", ""));
                }
                Supplier<PolicyEngine> p = policy;
                components.slack = SlackIntegration.start(settings, approvals,
                        rule -> p.get().rule(rule).flatMap(PolicyRule::slack),
                        SlackReviewers.byEmail(reviewers.all()), metrics);
                admin.mount("/slack/events", components.slack.httpHandler());
            }
            if (config.teams() != null) {
                TeamsSettings settings = TeamsSettings.parse(config.teams(), "teams");
                if (settings.consoleBaseUrl().isEmpty()) {
                    settings = settings.withConsoleBaseUrl(consoleUrl.replaceFirst("/console/?$", ""));
                }
                Supplier<PolicyEngine> p = policy;
                components.teams = TeamsIntegration.start(settings, approvals, rule -> p.get().rule(rule).flatMap(PolicyRule::teams),
                        SlackReviewers.byEmail(reviewers.all()), metrics);
                components.teams.httpHandler().ifPresent(h -> admin.mount(TeamsIntegration.MESSAGES_PATH, h));
            }
            return components;
        } catch (IOException | RuntimeException | Error e) {
            if (retention != null) {
                retention.shutdownNow();
            }
            closeQuietly(pipeline, holder, approvals, audit);
            throw e;
        }
    }

    /**
     * Static tokens from the config, plus OIDC sign-in when {@code approvals.oidc} is set: its
     * endpoints are mounted on the admin port and configured agents are refused as reviewers.
     */
    private static ReviewerAuthenticator reviewerAuthenticator(CountersignConfig config, ReviewerDirectory reviewers,
                                                               AdminHttpServer admin, String consoleUrl, Path data) {
        OidcSettings settings = config.approvals().oidcSettings();
        if (settings == null) {
            return ReviewerAuthenticator.staticTokens(reviewers);
        }
        // the callback lives next to the console; with admin.port 0 the port is known only once bound
        Supplier<URI> redirect = () -> settings.redirectUrl() != null ? settings.redirectUrl()
                : config.approvals().consoleUrl() != null ? URI.create(consoleUrl).resolve(OidcSettings.CALLBACK_PATH)
                : URI.create("http://" + (admin.address().getAddress().isAnyLocalAddress() ? "localhost" : admin.address().getHostString())
                        + ":" + admin.address().getPort() + OidcSettings.CALLBACK_PATH);
        java.util.function.Predicate<String> isAgent = id -> config.agents().stream()
                .anyMatch(a -> a != null && a.name() != null && a.name().equalsIgnoreCase(id.strip()));
        Oidc oidc = new Oidc(settings, redirect, reviewers, isAgent, data.resolve("personal-access-tokens.json"), java.time.Clock.systemUTC());
        oidc.mount(admin::mount);
        Thread.ofVirtual().name("countersign-oidc-discovery").start(oidc::warmUp);
        return oidc;
    }

    /** Deletes old audit partitions once a day when audit.retention-days is set. */
    private java.util.concurrent.ScheduledExecutorService retention;

    private static ApprovalStore openStore(CountersignConfig config, Path data, String instance) {
        String store = config.approvals().store();
        if (store != null && store.startsWith("jdbc:postgresql:")) {
            return PgApprovalStore.open(store, new Properties(), instance);
        }
        Path file = store != null ? Path.of(store.substring("h2:".length())) : data.resolve("approvals");
        return H2ApprovalStore.open(file);
    }

    private static String instanceName(CountersignConfig config) {
        if (config.approvals().replica() != null) {
            return config.approvals().replica();
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "countersign";
        }
    }

    public StatementGate gate() {
        return gate;
    }

    public StatementListener listener() {
        return listener;
    }

    public ApprovalService approvals() {
        return approvals;
    }

    public AuditTrail audit() {
        return audit;
    }

    public Pipeline pipeline() {
        return pipeline;
    }

    public String consoleUrl() {
        return consoleUrl;
    }

    @Override
    public void close() {
        if (audit != null) {
            try {
                // bounded: with the audit storage failing (fail-open keeps records in memory) stopping must not wait forever
                audit.append(AdminRecord.of(Instant.now(), AdminRecord.Event.STOP, "countersign", "countersign stopping"))
                        .get(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                log.warn("audit: could not record the stop: {}", e.toString());
            }
        }
        if (retention != null) {
            retention.shutdownNow();
        }
        closeQuietly(slack, teams, pipeline, policyHolder, approvals, audit);
    }

    private static void closeQuietly(AutoCloseable... parts) {
        for (AutoCloseable c : parts) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Exception e) {
                log.warn("closing {} failed: {}", c.getClass().getSimpleName(), e.toString());
            }
        }
    }
}
