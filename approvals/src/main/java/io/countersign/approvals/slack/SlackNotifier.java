package io.countersign.approvals.slack;

import com.slack.api.methods.response.chat.ChatPostMessageResponse;
import com.slack.api.methods.response.chat.ChatUpdateResponse;
import com.slack.api.methods.response.users.UsersLookupByEmailResponse;
import io.countersign.approvals.ApprovalEvent;
import io.countersign.approvals.ApprovalEventListener;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.ReviewerDirectory;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Announces held requests in Slack and keeps each message current: posts on creation, then
 * {@code chat.update}s the same message on every decision and state change, whichever channel
 * caused it (console, CLI, API, Slack). Buttons disappear once the request is final.
 *
 * <p>{@link #onEvent} only records the request and queues work; all Slack calls happen on
 * {@link SlackApi}'s threads, so a slow or unreachable Slack never delays the proxy or a decision.
 * Work for one request is chained, so the post always precedes its updates and updates apply in
 * order; an update renders the newest version seen, so a burst of changes costs one call.
 *
 * <p>Where each request's message lives (channel id and ts) is kept in memory only: after a
 * restart, messages of requests held before it are no longer updated (the console still is).
 */
public final class SlackNotifier implements ApprovalEventListener {

    private static final Logger LOG = LoggerFactory.getLogger(SlackNotifier.class);

    /** Where a request's message is: the channel id Slack answered with and the message's ts. */
    public record MessageRef(String channel, String ts) {}

    /** One announced request: its message, the newest version seen and the last one shown. */
    private static final class Tracked {
        volatile MessageRef ref;
        volatile ApprovalRequest latest;
        long shownVersion = -1;
        CompletableFuture<?> tail = CompletableFuture.completedFuture(null);

        Tracked(ApprovalRequest request) {
            this.latest = request;
        }
    }

    private final SlackApi api;
    private final SlackSettings settings;
    private final Function<String, Optional<String>> channelForRule;
    private final ReviewerDirectory reviewers;
    private final SlackMessages messages;
    private final Map<String, Tracked> tracked = new ConcurrentHashMap<>();
    /** Reviewer name (lower case) to Slack user id: from the config's mapping and from clicks seen. */
    private final Map<String, String> slackIds = new ConcurrentHashMap<>();

    /**
     * @param channelForRule the policy rule's {@code slack-channel}, by rule name (empty: the default channel)
     * @param reviewers      used only to find the agent owner's e-mail for the optional direct message
     */
    public SlackNotifier(SlackApi api, Function<String, Optional<String>> channelForRule, ReviewerDirectory reviewers) {
        this.api = Objects.requireNonNull(api, "api");
        this.settings = api.settings();
        this.channelForRule = channelForRule == null ? rule -> Optional.empty() : channelForRule;
        this.reviewers = reviewers;
        settings.userMapping().forEach((slackId, reviewer) -> slackIds.put(reviewer.toLowerCase(Locale.ROOT), slackId));
        this.messages = new SlackMessages(settings, this::mention);
    }

    public SlackMessages messages() {
        return messages;
    }

    /** Remembers which Slack user a reviewer is, so messages mention them. */
    public void rememberSlackUser(String reviewerName, String slackUserId) {
        slackIds.put(reviewerName.toLowerCase(Locale.ROOT), slackUserId);
    }

    /** The message announcing {@code requestId}, once posted. */
    public Optional<MessageRef> message(String requestId) {
        Tracked t = tracked.get(requestId);
        return t == null ? Optional.empty() : Optional.ofNullable(t.ref);
    }

    String mention(String reviewerName) {
        String id = slackIds.get(reviewerName.toLowerCase(Locale.ROOT));
        return id == null ? SlackMessages.escape(reviewerName) : "<@" + id + ">";
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
        Tracked t = new Tracked(request);
        if (tracked.putIfAbsent(request.id(), t) != null) {
            return;
        }
        synchronized (t) {
            t.tail = t.tail.thenComposeAsync(ignored -> render(request.id(), t), api.executor()).exceptionally(e -> null);
        }
        if (settings.notifyOwner() && !request.owner().isBlank()) {
            notifyOwner(request);
        }
    }

    private void changed(ApprovalRequest request) {
        Tracked t = tracked.get(request.id());
        if (t == null) {
            return;   // announced before a restart, or by another replica
        }
        synchronized (t) {
            if (request.version() <= t.latest.version()) {
                return;
            }
            t.latest = request;
            t.tail = t.tail.thenComposeAsync(ignored -> render(request.id(), t), api.executor()).exceptionally(e -> null);
        }
    }

    /** Shows the newest version: posts the message if there is none yet, else updates it. */
    private CompletableFuture<?> render(String id, Tracked t) {
        ApprovalRequest r = t.latest;
        if (r.version() <= t.shownVersion) {
            return CompletableFuture.completedFuture(null);
        }
        String blocks = messages.blocks(r);
        String text = messages.text(r);
        CompletableFuture<?> call;
        MessageRef ref = t.ref;
        if (ref == null) {
            String channel = channelForRule.apply(r.rule()).filter(c -> !c.isBlank()).orElse(settings.defaultChannel());
            call = api.<ChatPostMessageResponse>call("chat.postMessage", () -> api.methods().chatPostMessage(m -> m
                            .channel(channel).text(text).blocksAsString(blocks).unfurlLinks(false).unfurlMedia(false)))
                    .thenAccept(resp -> t.ref = new MessageRef(resp.getChannel(), resp.getTs()));
        } else {
            call = api.<ChatUpdateResponse>call("chat.update", () -> api.methods().chatUpdate(m -> m
                    .channel(ref.channel()).ts(ref.ts()).text(text).blocksAsString(blocks)));
        }
        return call.thenRun(() -> {
            t.shownVersion = Math.max(t.shownVersion, r.version());
            if (r.state().isFinal() && t.latest.version() == r.version()) {
                tracked.remove(id, t);
            } else if (r.state() == RequestState.APPROVED && r.approvedUntil() != null) {
                // An approval nobody uses ends without a state change: forget the message when it lapses.
                api.schedule(() -> {
                    if (t.latest.version() == r.version()) {
                        tracked.remove(id, t);
                    }
                }, Duration.between(Instant.now(), r.approvedUntil()).plusMinutes(1));
            }
        });
    }

    /** Tells the agent's owner, in a direct message, that their agent waits; they cannot approve it. */
    private void notifyOwner(ApprovalRequest r) {
        String owner = r.owner();
        String known = slackIds.get(owner.toLowerCase(Locale.ROOT));
        String email = owner.contains("@") ? owner
                : reviewers == null ? "" : reviewers.byName(owner).map(Reviewer::email).orElse("");
        CompletableFuture<String> user = known != null ? CompletableFuture.completedFuture(known)
                : email.isBlank() ? CompletableFuture.failedFuture(new IllegalStateException("no Slack user for owner " + owner))
                : api.<UsersLookupByEmailResponse>call("users.lookupByEmail",
                        () -> api.methods().usersLookupByEmail(q -> q.email(email))).thenApply(resp -> resp.getUser().getId());
        String text = "Your agent *" + SlackMessages.escape(r.agent()) + "* is waiting for approval on *"
                + SlackMessages.escape(r.database()) + "* (request `" + r.id() + "`, " + r.reasons().size()
                + (r.reasons().size() == 1 ? " reason" : " reasons") + "). Reviewers of " + SlackMessages.escape(r.reviewerGroup())
                + " decide; as its owner you cannot approve it yourself.";
        user.thenCompose(id -> api.call("chat.postMessage", () -> api.methods().chatPostMessage(m -> m.channel(id).text(text))))
                .exceptionally(e -> {
                    LOG.debug("slack: no direct message to owner {} of {}: {}", owner, r.id(), e.getMessage());
                    return null;
                });
    }
}
