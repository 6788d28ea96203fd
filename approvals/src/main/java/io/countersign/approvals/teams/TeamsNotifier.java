package io.countersign.approvals.teams;

import io.countersign.approvals.ApprovalEvent;
import io.countersign.approvals.ApprovalEventListener;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.RequestState;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Announces held requests in Teams. In bot mode it posts the card to the rule's channel and then
 * replaces that same card on every decision and state change, whichever channel caused it
 * (console, CLI, API, Slack, Teams); Approve and Deny disappear once the request is final. In
 * webhook mode it posts the card once (a webhook cannot change what it posted); the card links
 * to the console, where the request is decided.
 *
 * <p>{@link #onEvent} only records the request and queues work; every Teams call happens on
 * {@link TeamsApi}'s threads, so a slow or unreachable Teams never delays the proxy or a decision.
 * Work for one request is chained, so the post precedes its updates and updates apply in order;
 * an update renders the newest version seen, so a burst of changes costs one call.
 *
 * <p>Where each card lives is kept in memory: after a restart, cards of earlier requests are
 * updated again only once someone acts on them in Teams (the activity says where the card is).
 */
public final class TeamsNotifier implements ApprovalEventListener {

    private static final Logger LOG = LoggerFactory.getLogger(TeamsNotifier.class);

    /** Where a request's card is: the connector that holds it, the conversation, and the activity id. */
    public record CardRef(String serviceUrl, String conversationId, String activityId) {}

    private static final class Tracked {
        volatile CardRef ref;
        volatile ApprovalRequest latest;
        long shownVersion = -1;
        CompletableFuture<?> tail = CompletableFuture.completedFuture(null);

        Tracked(ApprovalRequest request) {
            this.latest = request;
        }
    }

    private final TeamsApi api;
    private final TeamsSettings settings;
    private final TeamsCards cards;
    private final Function<String, Optional<String>> channelForRule;
    private final Map<String, Tracked> tracked = new ConcurrentHashMap<>();
    /** Conversation id to the serviceUrl Teams last sent an authenticated activity from (it is region-specific). */
    private final Map<String, String> serviceUrls = new ConcurrentHashMap<>();

    /** @param channelForRule the policy rule's {@code teams-channel}, by rule name (empty: the default channel) */
    public TeamsNotifier(TeamsApi api, Function<String, Optional<String>> channelForRule) {
        this.api = Objects.requireNonNull(api, "api");
        this.settings = api.settings();
        this.cards = new TeamsCards(settings);
        this.channelForRule = channelForRule == null ? rule -> Optional.empty() : channelForRule;
    }

    public TeamsCards cards() {
        return cards;
    }

    /** The card announcing {@code requestId}, once posted (bot mode). */
    public Optional<CardRef> card(String requestId) {
        Tracked t = tracked.get(requestId);
        return t == null ? Optional.empty() : Optional.ofNullable(t.ref);
    }

    /** Remembers the serviceUrl of a conversation, from an activity whose token vouched for it. */
    void rememberServiceUrl(String conversationId, String serviceUrl) {
        serviceUrls.put(conversationId, serviceUrl);
    }

    /**
     * A reviewer acted on a card this process did not post (or no longer tracks, e.g. after a
     * restart): keep that card current from now on.
     */
    void adopt(ApprovalRequest request, CardRef ref) {
        Tracked t = new Tracked(request);
        t.ref = ref;
        t.shownVersion = request.version();
        tracked.putIfAbsent(request.id(), t);
    }

    @Override
    public void onEvent(ApprovalEvent event) {
        switch (event) {
            case ApprovalEvent.RequestCreated e -> announce(e.request());
            case ApprovalEvent.DecisionRecorded e -> changed(e.request());
            case ApprovalEvent.StateChanged e -> changed(e.request());
            case ApprovalEvent.RemoteChange e -> changed(e.request());
            case ApprovalEvent.GrantCreated e -> { }
            case ApprovalEvent.GrantRevoked e -> { }
        }
    }

    private void announce(ApprovalRequest request) {
        if (!settings.botMode()) {
            String channel = channelForRule.apply(request.rule()).filter(c -> !c.isBlank()).orElse(null);
            String url = channel == null ? settings.webhookUrl() : settings.webhooks().get(channel);
            if (url == null) {
                LOG.warn("teams: rule '{}' names teams-channel '{}', which teams.webhooks does not list; posting to teams.webhook-url",
                        request.rule(), channel);
                url = settings.webhookUrl();
            }
            api.postWebhook(url, cards.webhookMessage(request));
            return;
        }
        Tracked t = new Tracked(request);
        if (tracked.putIfAbsent(request.id(), t) != null) {
            return;
        }
        enqueue(request.id(), t);
    }

    private void changed(ApprovalRequest request) {
        Tracked t = tracked.get(request.id());
        if (t == null) {
            return;   // webhook mode, announced before a restart, or by another replica
        }
        synchronized (t) {
            if (request.version() <= t.latest.version()) {
                return;
            }
            t.latest = request;
        }
        enqueue(request.id(), t);
    }

    private void enqueue(String id, Tracked t) {
        synchronized (t) {
            t.tail = t.tail.thenComposeAsync(ignored -> render(id, t), api.executor()).exceptionally(e -> null);
        }
    }

    /** Shows the newest version: posts the card if there is none yet, else replaces it. */
    private CompletableFuture<?> render(String id, Tracked t) {
        ApprovalRequest r = t.latest;
        if (r.version() <= t.shownVersion) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<?> call;
        CardRef ref = t.ref;
        if (ref == null) {
            String conversation = channelForRule.apply(r.rule()).filter(c -> !c.isBlank()).orElse(settings.defaultChannel());
            String serviceUrl = serviceUrls.getOrDefault(conversation, settings.serviceUrl());
            call = api.postActivity(serviceUrl, conversation, cards.activity(r)).thenAccept(resp -> {
                String activityId = resp.path("id").asText("");
                if (activityId.isEmpty()) {
                    LOG.warn("teams: the connector accepted the card for {} but returned no activity id; it cannot be updated", id);
                } else {
                    t.ref = new CardRef(serviceUrl, conversation, activityId);
                }
            });
        } else {
            call = api.updateActivity(ref.serviceUrl(), ref.conversationId(), ref.activityId(),
                    cards.activity(r).put("id", ref.activityId()));
        }
        return call.thenRun(() -> {
            t.shownVersion = Math.max(t.shownVersion, r.version());
            if (r.state().isFinal() && t.latest.version() == r.version()) {
                tracked.remove(id, t);
            } else if (r.state() == RequestState.APPROVED && r.approvedUntil() != null) {
                // An approval nobody uses ends without a state change: forget the card when it lapses.
                api.schedule(() -> {
                    if (t.latest.version() == r.version()) {
                        tracked.remove(id, t);
                    }
                }, Duration.between(Instant.now(), r.approvedUntil()).plusMinutes(1));
            }
        });
    }
}
