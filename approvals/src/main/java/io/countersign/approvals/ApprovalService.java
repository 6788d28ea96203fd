package io.countersign.approvals;

import io.countersign.analysis.Category;
import io.countersign.analysis.Finding;
import io.countersign.analysis.StatementAnalysis;
import io.countersign.approvals.DecisionRefusedException.Reason;
import io.countersign.approvals.policy.PolicyDecision;
import io.countersign.approvals.policy.StatementFacts;
import io.countersign.approvals.store.ApprovalStore;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where requests are created and decided. Every channel (REST, console, CLI, Slack,
 * Teams) calls {@link #decide}; the gate calls {@link #hold}, {@link #withdraw},
 * {@link #markExecuted}, {@link #consumeTicket} and {@link #findGrant}.
 *
 * <p>Rules enforced here and nowhere else: the reviewer is in the rule's group; the agent's owner
 * never decides on that agent's request and an agent identity never reviews; the quorum counts
 * distinct reviewers; a denial needs a comment; only pending requests take decisions; approvals
 * are bound to the binding hash and used once; nothing waits past its expiry.
 *
 * <p>Nothing here blocks the caller for long (one store round trip); futures complete on the
 * service's own thread, never on the caller's.
 */
public final class ApprovalService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ApprovalService.class);
    private static final int CAS_ATTEMPTS = 20;
    private static final char[] ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789".toCharArray();

    /**
     * @param replica       names this process in a shared store; requests it holds carry it
     * @param ticketMode    agents whose statements fail at once and run when sent again after approval
     * @param syncInterval  how often waiting requests are re-read from the store (fallback for missed notifications)
     * @param maxGrant      the longest grant a reviewer may give
     */
    public record Options(Clock clock, String replica, Predicate<String> ticketMode, Duration syncInterval, Duration maxGrant) {
        public Options {
            Objects.requireNonNull(clock, "clock");
            Objects.requireNonNull(replica, "replica");
            ticketMode = ticketMode == null ? agent -> false : ticketMode;
        }

        public static Options defaults() {
            return new Options(Clock.systemUTC(), "local", agent -> false, Duration.ofSeconds(2), Duration.ofDays(7));
        }

        public Options withTicketMode(Predicate<String> agents) {
            return new Options(clock, replica, agents, syncInterval, maxGrant);
        }

        public Options withReplica(String name) {
            return new Options(clock, name, ticketMode, syncInterval, maxGrant);
        }

        public Options withSyncInterval(Duration interval) {
            return new Options(clock, replica, ticketMode, interval, maxGrant);
        }
    }

    private final ApprovalStore store;
    private final ReviewerDirectory reviewers;
    private final Options options;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;
    private final Map<String, CompletableFuture<Outcome>> waiting = new ConcurrentHashMap<>();
    private final Map<String, ScheduledFuture<?>> timers = new ConcurrentHashMap<>();
    private final List<ApprovalEventListener> listeners = new CopyOnWriteArrayList<>();
    private final SecureRandom random = new SecureRandom();
    /** Store I/O for callers that must not block (the gate runs on Netty event loops). */
    private final java.util.concurrent.ExecutorService io;
    /** Active grants by agent, database and fingerprint, so the gate's lookup does no I/O. */
    private volatile Map<String, Grant> grantCache = Map.of();
    /** Withdrawals that may have arrived before the request's non-blocking insert landed. */
    private final Map<String, String> earlyWithdrawals = new ConcurrentHashMap<>();

    public ApprovalService(ApprovalStore store, ReviewerDirectory reviewers, Options options) {
        this.store = Objects.requireNonNull(store, "store");
        this.reviewers = Objects.requireNonNull(reviewers, "reviewers");
        this.options = options;
        if (store instanceof io.countersign.approvals.store.PgApprovalStore pg && !pg.replica().equals(options.replica())) {
            // requests carry the service's replica name; the store abandons only its own at restart
            throw new IllegalArgumentException("approval service replica '" + options.replica() + "' differs from its store's"
                    + " replica '" + pg.replica() + "'; give both the same stable name for this Countersign instance");
        }
        this.clock = options.clock();
        this.scheduler = Executors.newScheduledThreadPool(2, r -> {
            Thread t = new Thread(r, "approvals");
            t.setDaemon(true);
            return t;
        });
        this.io = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "approvals-io");
            t.setDaemon(true);
            return t;
        });
        reloadGrants();
        long sync = options.syncInterval().toMillis();
        scheduler.scheduleWithFixedDelay(this::sync, sync, sync, TimeUnit.MILLISECONDS);
        store.onRemoteChange(id -> {
            if (!scheduler.isShutdown()) {
                scheduler.execute(() -> refresh(id, true));
            }
        });
        store.onRemoteGrantChange(() -> {
            if (!scheduler.isShutdown()) {
                scheduler.execute(this::reloadGrants);
            }
        });
    }

    public ReviewerDirectory reviewers() {
        return reviewers;
    }

    public void addListener(ApprovalEventListener listener) {
        listeners.add(Objects.requireNonNull(listener));
    }

    public void removeListener(ApprovalEventListener listener) {
        listeners.remove(listener);
    }

    public boolean isTicketMode(String agent) {
        return options.ticketMode().test(agent);
    }

    // ---------------------------------------------------------------- the gate's side

    /**
     * Creates a pending request for a statement the policy holds and returns what to wait on, after
     * storing it (one store write: call {@link #holdNonBlocking} from an event loop).
     */
    public HeldRequest hold(StatementFacts facts, PolicyDecision.Hold decision, String sql, List<String> parameters,
            String clientAddress) {
        Pending p = prepare(facts, decision, sql, parameters, clientAddress);
        store(p);
        return p.held();
    }

    /**
     * Like {@link #hold} but returns at once, without I/O: the request id is known immediately (for
     * the notice) and the request is stored on the service's own threads. If it cannot be stored the
     * outcome completes exceptionally with the store's error: the gate must then refuse the
     * statement (fail closed).
     */
    public HeldRequest holdNonBlocking(StatementFacts facts, PolicyDecision.Hold decision, String sql, List<String> parameters,
            String clientAddress) {
        Pending p = prepare(facts, decision, sql, parameters, clientAddress);
        try {
            io.execute(() -> {
                try {
                    store(p);
                } catch (RuntimeException e) {
                    LOG.error("approvals: cannot store request {}: {}", p.held().request().id(), e.getMessage());
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            waiting.remove(p.held().request().id());
            p.held().outcome().completeExceptionally(new IllegalStateException("the approval service is shut down"));
        }
        return p.held();
    }

    private record Pending(HeldRequest held, Duration timeout) {}

    private Pending prepare(StatementFacts facts, PolicyDecision.Hold decision, String sql, List<String> parameters,
            String clientAddress) {
        Instant now = clock.instant();
        List<String> params = parameters == null ? List.of() : parameters;
        ApprovalRequest request = new ApprovalRequest(newId("apr"), 1, facts.agent(), facts.owner(), facts.database(),
                clientAddress == null ? "" : clientAddress, sql, params, decision.reasons(), sensitiveColumns(facts),
                decision.tier(), decision.rule(), decision.quorum(), decision.reviewerGroup(), decision.validity(),
                facts.fingerprint(), BindingHash.of(facts.agent(), facts.database(), sql, params), now,
                now.plus(decision.timeout()), RequestState.PENDING, "", null, isTicketMode(facts.agent()),
                options.replica(), List.of());
        CompletableFuture<Outcome> outcome = new CompletableFuture<>();
        waiting.put(request.id(), outcome);
        return new Pending(new HeldRequest(request, outcome), decision.timeout());
    }

    private void store(Pending p) {
        ApprovalRequest request = p.held().request();
        try {
            store.insert(request);
        } catch (RuntimeException e) {
            waiting.remove(request.id());
            earlyWithdrawals.remove(request.id());
            p.held().outcome().completeExceptionally(e);
            throw e;
        }
        timers.put(request.id(), scheduler.schedule(() -> expire(request.id()),
                Math.max(0, p.timeout().toMillis()), TimeUnit.MILLISECONDS));
        emit(new ApprovalEvent.RequestCreated(request));
        String withdrawnMeanwhile = earlyWithdrawals.remove(request.id());
        if (withdrawnMeanwhile != null) {
            withdraw(request.id(), withdrawnMeanwhile);
        }
    }

    /** The client cancelled or disconnected: the request shows WITHDRAWN to reviewers. */
    public Optional<ApprovalRequest> withdraw(String id, String reason) {
        if (waiting.containsKey(id)) {
            // the insert may not have landed yet; whichever of the two comes second withdraws
            earlyWithdrawals.put(id, reason == null ? "" : reason);
        }
        Optional<ApprovalRequest> done = withdrawStored(id, reason);
        if (done.isPresent()) {
            earlyWithdrawals.remove(id);
        }
        return done;
    }

    private Optional<ApprovalRequest> withdrawStored(String id, String reason) {
        return transition(id, r -> r.state() == RequestState.PENDING || (r.state() == RequestState.APPROVED && !r.ticket())
                ? r.withState(RequestState.WITHDRAWN, reason == null || reason.isBlank() ? "withdrawn by the client" : reason)
                : null);
    }

    /**
     * The approved statement was forwarded to the backend; the approval is used up. Call it when
     * forwarding, not when the result arrives, so a disconnect during execution cannot withdraw a
     * statement that ran.
     */
    public ApprovalRequest markExecuted(String id) {
        ApprovalRequest current = store.find(id).orElseThrow(() -> notFound(id));
        return transition(id, r -> r.state() == RequestState.APPROVED ? r.withState(RequestState.EXECUTED, "executed") : null)
                .orElseThrow(() -> new DecisionRefusedException(Reason.NOT_PENDING, "request " + id + " is "
                        + lower(store.find(id).map(ApprovalRequest::state).orElse(current.state()))
                        + ", not approved: an approval is used once and only an approved request can be executed"));
    }

    /**
     * Ticket mode: if reviewers approved an identical statement (same agent, database, SQL and
     * parameters) and the approval is still valid and unused, uses it up and returns it: the
     * statement may run, once.
     */
    public Optional<ApprovalRequest> consumeTicket(StatementFacts facts, String sql, List<String> parameters) {
        String hash = BindingHash.of(facts.agent(), facts.database(), sql, parameters == null ? List.of() : parameters);
        for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
            Optional<ApprovalRequest> ticket = store.findUsableTicket(facts.agent(), hash, clock.instant());
            if (ticket.isEmpty()) {
                return Optional.empty();
            }
            ApprovalRequest used = ticket.get().withState(RequestState.EXECUTED, "executed with its ticket");
            if (store.update(used)) {
                stateChanged(used, RequestState.APPROVED);
                return Optional.of(used);
            }
        }
        return Optional.empty();
    }

    /** {@link #withdraw} on the service's threads, for the gate (no I/O on the caller's thread). */
    public CompletableFuture<Optional<ApprovalRequest>> withdrawAsync(String id, String reason) {
        return CompletableFuture.supplyAsync(() -> withdraw(id, reason), io);
    }

    /** {@link #markExecuted} on the service's threads, for the gate. */
    public CompletableFuture<ApprovalRequest> markExecutedAsync(String id) {
        return CompletableFuture.supplyAsync(() -> markExecuted(id), io);
    }

    /** {@link #consumeTicket} on the service's threads, for the gate. */
    public CompletableFuture<Optional<ApprovalRequest>> consumeTicketAsync(StatementFacts facts, String sql, List<String> parameters) {
        return CompletableFuture.supplyAsync(() -> consumeTicket(facts, sql, parameters), io);
    }

    /**
     * An active grant for this agent, database and statement shape, checked before holding. Reads
     * an in-memory copy (no I/O, safe on an event loop); a grant revoked on this replica stops at
     * once, one revoked on another replica within a notification or at most one sync interval.
     */
    public Optional<Grant> findGrant(StatementFacts facts) {
        return findGrant(facts.agent(), facts.database(), facts.fingerprint());
    }

    public Optional<Grant> findGrant(String agent, String database, String fingerprint) {
        Grant g = grantCache.get(grantKey(agent, database, fingerprint));
        return g != null && g.activeAt(clock.instant()) ? Optional.of(g) : Optional.empty();
    }

    private static String grantKey(String agent, String database, String fingerprint) {
        return agent + '\u0000' + database + '\u0000' + fingerprint;
    }

    private synchronized void reloadGrants() {
        try {
            Map<String, Grant> next = new java.util.HashMap<>();
            for (Grant g : store.grants(clock.instant(), 100_000)) {
                next.merge(grantKey(g.agent(), g.database(), g.fingerprint()), g,
                        (a, b) -> a.expires().isAfter(b.expires()) ? a : b);
            }
            grantCache = Map.copyOf(next);
        } catch (RuntimeException e) {
            LOG.warn("approvals: cannot reload grants: {}", e.getMessage());
        }
    }

    // ---------------------------------------------------------------- the reviewers' side

    public Optional<ApprovalRequest> request(String id) {
        return store.find(id);
    }

    public List<ApprovalRequest> requests(RequestState state, String agent, int limit) {
        return store.list(state, agent, limit);
    }

    /**
     * Records a reviewer's verdict. Throws {@link DecisionRefusedException} naming the rule broken.
     * Returns the request after the decision.
     */
    public ApprovalRequest decide(String id, Reviewer reviewer, Verdict verdict, String comment, Channel channel) {
        return decide(id, reviewer, verdict, comment, channel, ReviewerAuth.implied(channel));
    }

    /** As {@link #decide(String, Reviewer, Verdict, String, Channel)}, recording how the reviewer authenticated. */
    public ApprovalRequest decide(String id, Reviewer reviewer, Verdict verdict, String comment, Channel channel, ReviewerAuth auth) {
        Objects.requireNonNull(reviewer, "reviewer");
        String text = comment == null ? "" : comment.strip();
        for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
            ApprovalRequest r = store.find(id).orElseThrow(() -> notFound(id));
            checkMayReview(r, reviewer);
            Instant now = clock.instant();
            if (r.state() == RequestState.PENDING && !now.isBefore(r.expires())) {
                expire(id);
                r = store.find(id).orElseThrow(() -> notFound(id));
            }
            if (r.state() != RequestState.PENDING) {
                throw new DecisionRefusedException(Reason.NOT_PENDING, "request " + id + " is already " + lower(r.state())
                        + (r.stateReason().isEmpty() ? "" : " (" + r.stateReason() + ")")
                        + "; decisions can only be taken on pending requests");
            }
            if (!reviewer.inGroup(r.reviewerGroup())) {
                throw new DecisionRefusedException(Reason.NOT_IN_GROUP, "reviewer " + reviewer.name() + " is not in group '"
                        + r.reviewerGroup() + "', which rule '" + r.rule() + "' requires for request " + id
                        + " (reviewer's groups: " + (reviewer.groups().isEmpty() ? "none" : String.join(", ", reviewer.groups()))
                        + "); ask a member of '" + r.reviewerGroup() + "'");
            }
            if (r.decisions().stream().anyMatch(d -> d.reviewer().equalsIgnoreCase(reviewer.name()))) {
                throw new DecisionRefusedException(Reason.ALREADY_DECIDED, "reviewer " + reviewer.name()
                        + " already decided on request " + id + "; quorum " + r.quorum()
                        + " needs approvals from distinct reviewers");
            }
            if (verdict == Verdict.DENY && text.isEmpty()) {
                throw new DecisionRefusedException(Reason.COMMENT_REQUIRED,
                        "denying request " + id + " needs a comment: the agent's owner reads it to learn why");
            }
            Decision decision = new Decision(reviewer.name(), verdict, text, now, channel, auth);
            ApprovalRequest next;
            if (verdict == Verdict.DENY) {
                next = r.withDecision(decision, RequestState.DENIED, text, null);
            } else if (r.approvals() + 1 >= r.quorum()) {
                next = r.withDecision(decision, RequestState.APPROVED, "approved by " + approvers(r, reviewer.name()),
                        now.plus(r.approvalValidity()));
            } else {
                next = r.withDecision(decision, RequestState.PENDING, (r.approvals() + 1) + " of " + r.quorum() + " approvals", null);
            }
            if (store.update(next)) {
                emit(new ApprovalEvent.DecisionRecorded(next, decision));
                if (next.state() != r.state()) {
                    stateChanged(next, r.state());
                }
                return next;
            }
        }
        throw new DecisionRefusedException(Reason.NOT_PENDING, "request " + id + " kept changing while deciding; try again");
    }

    /**
     * Grants the request's statement shape to its agent for {@code duration}; if the request is
     * still pending it is approved by the same act. Not allowed when the rule needs a quorum above
     * one: such statements need their full quorum each time.
     */
    public Grant grant(String requestId, Reviewer reviewer, Duration duration, Channel channel) {
        return grant(requestId, reviewer, duration, channel, ReviewerAuth.implied(channel));
    }

    /** As {@link #grant(String, Reviewer, Duration, Channel)}, recording how the reviewer authenticated. */
    public Grant grant(String requestId, Reviewer reviewer, Duration duration, Channel channel, ReviewerAuth auth) {
        ApprovalRequest r = store.find(requestId).orElseThrow(() -> notFound(requestId));
        checkMayReview(r, reviewer);
        if (!reviewer.inGroup(r.reviewerGroup())) {
            throw new DecisionRefusedException(Reason.NOT_IN_GROUP, "reviewer " + reviewer.name() + " is not in group '"
                    + r.reviewerGroup() + "', which rule '" + r.rule() + "' requires; only its members may grant this statement");
        }
        if (r.quorum() > 1) {
            throw new DecisionRefusedException(Reason.INVALID, "request " + requestId + " needs " + r.quorum()
                    + " approvals (rule '" + r.rule() + "'); statements with a quorum above one cannot be granted ahead");
        }
        if (duration == null || duration.compareTo(Duration.ofMinutes(1)) < 0 || duration.compareTo(options.maxGrant()) > 0) {
            throw new DecisionRefusedException(Reason.INVALID, "a grant lasts from 1 minute to " + options.maxGrant().toHours()
                    + " hours; got " + duration);
        }
        if (r.state() == RequestState.PENDING) {
            decide(requestId, reviewer, Verdict.APPROVE, "granted for " + describe(duration), channel, auth);
        }
        Instant now = clock.instant();
        Grant g = new Grant(newId("grt"), r.agent(), r.database(), r.fingerprint(), reviewer.name(), now, now.plus(duration),
                r.id(), null, null);
        store.insertGrant(g);
        reloadGrants();
        emit(new ApprovalEvent.GrantCreated(g));
        return g;
    }

    public List<Grant> grants(boolean activeOnly, int limit) {
        return store.grants(activeOnly ? clock.instant() : null, limit);
    }

    public Grant revokeGrant(String grantId, Reviewer reviewer) {
        if (reviewer.kind() == Reviewer.Kind.AGENT || reviewers.isAgent(reviewer.name())) {
            throw new DecisionRefusedException(Reason.AGENT_REVIEWER, reviewer.name() + " is an agent identity; agents cannot manage grants");
        }
        Grant g = store.findGrant(grantId).orElseThrow(() -> new DecisionRefusedException(Reason.NOT_FOUND,
                "no grant with id " + grantId + "; list grants with GET /api/grants"));
        if (g.revoked() != null) {
            throw new DecisionRefusedException(Reason.NOT_PENDING, "grant " + grantId + " was already revoked by " + g.revokedBy()
                    + " at " + g.revoked());
        }
        Grant revoked = g.revoke(reviewer.name(), clock.instant());
        if (!store.revokeGrant(revoked)) {
            throw new DecisionRefusedException(Reason.NOT_PENDING, "grant " + grantId + " was revoked by someone else just now");
        }
        synchronized (this) {
            Map<String, Grant> next = new java.util.HashMap<>(grantCache);
            next.values().removeIf(x -> x.id().equals(grantId));
            grantCache = Map.copyOf(next);
        }
        reloadGrants();
        emit(new ApprovalEvent.GrantRevoked(revoked));
        return revoked;
    }

    // ---------------------------------------------------------------- internals

    private void checkMayReview(ApprovalRequest r, Reviewer reviewer) {
        if (reviewer.kind() == Reviewer.Kind.AGENT || reviewers.isAgent(reviewer.name())
                || reviewer.name().equalsIgnoreCase(r.agent())) {
            throw new DecisionRefusedException(Reason.AGENT_REVIEWER, reviewer.name()
                    + " is an agent identity; agents can never review requests");
        }
        String owner = r.owner();
        if (!owner.isBlank() && (owner.equalsIgnoreCase(reviewer.name())
                || (!reviewer.email().isBlank() && owner.equalsIgnoreCase(reviewer.email())))) {
            throw new DecisionRefusedException(Reason.SELF_APPROVAL, reviewer.name() + " owns agent " + r.agent()
                    + " and cannot decide on its request " + r.id() + "; another member of '" + r.reviewerGroup() + "' must");
        }
    }

    private void expire(String id) {
        Optional<ApprovalRequest> expired = transition(id, r -> r.state() == RequestState.PENDING
                ? r.withState(RequestState.EXPIRED, "no decision within " + describe(Duration.between(r.created(), r.expires())))
                : null);
        if (expired.isEmpty()) {
            refresh(id, false);
        }
    }

    /** Compare-and-set loop; {@code change} returns null when the transition does not apply. */
    private Optional<ApprovalRequest> transition(String id, UnaryOperator<ApprovalRequest> change) {
        for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
            Optional<ApprovalRequest> current = store.find(id);
            if (current.isEmpty()) {
                return Optional.empty();
            }
            ApprovalRequest next = change.apply(current.get());
            if (next == null) {
                return Optional.empty();
            }
            if (store.update(next)) {
                stateChanged(next, current.get().state());
                return Optional.of(next);
            }
        }
        return Optional.empty();
    }

    private void stateChanged(ApprovalRequest request, RequestState previous) {
        emit(new ApprovalEvent.StateChanged(request, previous));
        settle(request);
    }

    /** Completes the local waiter, if any, once the request has left PENDING. */
    private void settle(ApprovalRequest r) {
        Outcome outcome = switch (r.state()) {
            case PENDING -> null;
            case APPROVED -> new Outcome.Approved(r);
            case DENIED -> new Outcome.Denied(r, lastDenier(r), r.stateReason());
            case EXPIRED -> new Outcome.Expired(r);
            case WITHDRAWN, ABANDONED, EXECUTED -> new Outcome.Withdrawn(r, r.stateReason());
        };
        if (outcome == null) {
            return;
        }
        CompletableFuture<Outcome> future = waiting.remove(r.id());
        ScheduledFuture<?> timer = timers.remove(r.id());
        if (timer != null) {
            timer.cancel(false);
        }
        if (future != null) {
            try {
                scheduler.execute(() -> future.complete(outcome));
            } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
                future.complete(outcome);
            }
        }
    }

    /** Re-reads a request (after a notification or on the periodic sync) and settles it if it moved on. */
    private void refresh(String id, boolean remote) {
        try {
            store.find(id).ifPresent(r -> {
                if (remote) {
                    emit(new ApprovalEvent.RemoteChange(r));
                }
                settle(r);
            });
        } catch (RuntimeException e) {
            LOG.warn("approvals: cannot refresh request {}: {}", id, e.getMessage());
        }
    }

    private void sync() {
        try {
            if (store.shared()) {
                for (String id : List.copyOf(waiting.keySet())) {
                    refresh(id, false);
                }
                reloadGrants();
            }
            for (ApprovalRequest r : store.overdue(clock.instant(), 100)) {
                expire(r.id());
            }
        } catch (RuntimeException e) {
            LOG.warn("approvals: periodic sync failed: {}", e.getMessage());
        }
    }

    private void emit(ApprovalEvent event) {
        for (ApprovalEventListener l : listeners) {
            try {
                l.onEvent(event);
            } catch (RuntimeException e) {
                LOG.warn("approval event listener {} failed on {}", l, event.getClass().getSimpleName(), e);
            }
        }
    }

    private static List<String> sensitiveColumns(StatementFacts facts) {
        Set<String> out = new LinkedHashSet<>();
        for (StatementAnalysis s : facts.statements()) {
            List<String> reasons = new ArrayList<>();
            for (Finding f : s.findings()) {
                if (f.category() == Category.SENSITIVE_READ || f.category() == Category.SENSITIVE_WRITE) {
                    reasons.add(f.reason().toLowerCase(Locale.ROOT));
                }
            }
            if (reasons.isEmpty()) {
                continue;
            }
            Set<String> columns = new LinkedHashSet<>(s.columnsRead());
            columns.addAll(s.columnsWritten());
            for (String c : columns) {
                if (reasons.stream().anyMatch(reason -> reason.contains(c.toLowerCase(Locale.ROOT)))) {
                    out.add(c);
                }
            }
        }
        return List.copyOf(out);
    }

    private static String lastDenier(ApprovalRequest r) {
        for (int i = r.decisions().size() - 1; i >= 0; i--) {
            if (r.decisions().get(i).verdict() == Verdict.DENY) {
                return r.decisions().get(i).reviewer();
            }
        }
        return "";
    }

    private static String approvers(ApprovalRequest r, String last) {
        Set<String> names = new LinkedHashSet<>();
        r.decisions().stream().filter(d -> d.verdict() == Verdict.APPROVE).forEach(d -> names.add(d.reviewer()));
        names.add(last);
        return String.join(", ", names);
    }

    private static DecisionRefusedException notFound(String id) {
        return new DecisionRefusedException(Reason.NOT_FOUND, "no approval request with id " + id
                + "; list requests with GET /api/requests or 'countersign approvals list'");
    }

    private static String lower(RequestState s) {
        return s.name().toLowerCase(Locale.ROOT);
    }

    static String describe(Duration d) {
        if (d.toSeconds() % 3600 == 0 && d.toHours() > 0) {
            return d.toHours() + (d.toHours() == 1 ? " hour" : " hours");
        }
        if (d.toSeconds() % 60 == 0 && d.toMinutes() > 0) {
            return d.toMinutes() + (d.toMinutes() == 1 ? " minute" : " minutes");
        }
        if (d.toMillis() % 1000 == 0) {
            return d.toSeconds() + " s";
        }
        return d.toMillis() + " ms";
    }

    private String newId(String prefix) {
        char[] c = new char[10];
        for (int i = 0; i < c.length; i++) {
            c[i] = ID_ALPHABET[random.nextInt(ID_ALPHABET.length)];
        }
        return prefix + "-" + new String(c);
    }

    @Override
    public void close() {
        io.shutdownNow();
        scheduler.shutdownNow();
        try {
            scheduler.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
