package io.countersign.approvals.slack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.slack.api.app_backend.SlackSignature;
import com.slack.api.app_backend.interactive_components.payload.BlockActionPayload;
import com.slack.api.app_backend.views.payload.ViewSubmissionPayload;
import com.slack.api.bolt.App;
import com.slack.api.bolt.AppConfig;
import com.slack.api.bolt.middleware.Middleware;
import com.slack.api.bolt.middleware.builtin.RequestVerification;
import com.slack.api.methods.response.chat.ChatPostEphemeralResponse;
import com.slack.api.methods.response.views.ViewsOpenResponse;
import com.slack.api.model.view.ViewState;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.ApprovalService;
import io.countersign.approvals.Channel;
import io.countersign.approvals.DecisionRefusedException;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.Verdict;
import io.countersign.approvals.policy.Tier;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Bolt app that receives reviewers' clicks: Approve, Deny (opens a modal asking why), "Approve
 * this shape for 1 h", and the modals' submissions. Every decision goes through
 * {@link ApprovalService#decide} or {@link ApprovalService#grant}; the service's refusal (not in the
 * group, the agent's owner, already counted toward the quorum, ...) is shown to the clicking user
 * as an ephemeral message and nothing is decided.
 *
 * <p>Handlers only acknowledge: Slack wants an answer within 3 seconds, so looking the user up,
 * deciding and answering happen on {@link SlackApi}'s threads. The message itself is updated by
 * {@link SlackNotifier} when the service announces the decision, as for decisions taken elsewhere.
 */
public final class SlackInteractions implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SlackInteractions.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Duration GRANT = Duration.ofHours(1);

    private final SlackApi api;
    private final ApprovalService service;
    private final SlackNotifier notifier;
    private final SlackReviewers reviewers;
    private final SlackSettings settings;
    private final App app;
    /**
     * Click handling (user lookup, the decision, the answer) runs here, apart from SlackApi's call
     * threads: a handler waits on users.info, which must never queue behind the handler itself.
     */
    private final ExecutorService work;

    public SlackInteractions(SlackApi api, ApprovalService service, SlackNotifier notifier, SlackReviewers reviewers) {
        this.api = api;
        this.service = service;
        this.notifier = notifier;
        this.reviewers = reviewers;
        this.settings = api.settings();
        AtomicInteger n = new AtomicInteger();
        this.work = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "slack-interactions-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        AppConfig config = AppConfig.builder()
                .signingSecret(settings.signingSecret().isEmpty() ? null : settings.signingSecret())
                .singleTeamBotToken(settings.botToken())
                .slack(api.slack())
                .threadPoolSize(2)
                .build();
        // Only Bolt's signature check (signing secret and the 5-minute timestamp window). Its default
        // chain would also call auth.test when the App is built, failing startup while Slack is down;
        // the handlers use SlackApi's client, so they need no per-request token lookup.
        List<Middleware> middleware = List.of(new RequestVerification(
                new SlackSignature.Verifier(new SlackSignature.Generator(settings.signingSecret().isEmpty()
                        ? "socket-mode-only" : settings.signingSecret()))));
        this.app = new App(config, api.slack(), middleware);
        app.blockAction(SlackMessages.APPROVE, (req, ctx) -> {
            Click click = Click.of(req.getPayload());
            later(() -> approve(click));
            return ctx.ack();
        });
        app.blockAction(SlackMessages.DENY, (req, ctx) -> {
            Click click = Click.of(req.getPayload());
            later(() -> openDeny(click));
            return ctx.ack();
        });
        app.blockAction(SlackMessages.GRANT, (req, ctx) -> {
            Click click = Click.of(req.getPayload());
            later(() -> grant(click));
            return ctx.ack();
        });
        // The console button is a link; Slack still reports the click and expects an ack.
        app.blockAction(SlackMessages.CONSOLE, (req, ctx) -> ctx.ack());
        app.viewSubmission(SlackMessages.DENY_MODAL, (req, ctx) -> {
            Submission s = Submission.of(req.getPayload());
            later(() -> submit(s, Verdict.DENY));
            return ctx.ack();
        });
        app.viewSubmission(SlackMessages.APPROVE_MODAL, (req, ctx) -> {
            Submission s = Submission.of(req.getPayload());
            later(() -> submit(s, Verdict.APPROVE));
            return ctx.ack();
        });
    }

    /** The Bolt app; {@link SlackHttpHandler} and {@link SlackSocketMode} feed it. */
    public App app() {
        return app;
    }

    private void later(Runnable task) {
        try {
            work.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.warn("slack: handling a click failed", e);
                }
            });
        } catch (RejectedExecutionException closed) {
            LOG.info("slack: interaction ignored, Countersign is shutting down");
        }
    }

    @Override
    public void close() {
        work.shutdownNow();
        app.stop();
    }

    /** A button click, reduced to what the handlers need. */
    record Click(String user, String requestId, String channel, String messageTs, String triggerId) {
        static Click of(BlockActionPayload p) {
            String value = p.getActions() == null || p.getActions().isEmpty() ? "" : p.getActions().get(0).getValue();
            String channel = p.getChannel() != null ? p.getChannel().getId()
                    : p.getContainer() != null ? p.getContainer().getChannelId() : null;
            String ts = p.getContainer() != null ? p.getContainer().getMessageTs() : null;
            return new Click(p.getUser().getId(), value == null ? "" : value, channel, ts, p.getTriggerId());
        }
    }

    /** A modal's submission: who, which request (from the modal's metadata), and the text typed. */
    record Submission(String user, String requestId, String channel, String comment) {
        static Submission of(ViewSubmissionPayload p) {
            String id = "";
            String channel = null;
            try {
                JsonNode meta = JSON.readTree(p.getView().getPrivateMetadata());
                id = meta.path("id").asText("");
                channel = meta.hasNonNull("channel") ? meta.get("channel").asText() : null;
            } catch (Exception e) {
                LOG.warn("slack: modal submission without readable metadata: {}", e.getMessage());
            }
            String comment = "";
            Map<String, Map<String, ViewState.Value>> values = p.getView().getState() == null ? null
                    : p.getView().getState().getValues();
            if (values != null && values.containsKey(SlackMessages.COMMENT_BLOCK)) {
                ViewState.Value v = values.get(SlackMessages.COMMENT_BLOCK).get(SlackMessages.COMMENT_INPUT);
                comment = v == null || v.getValue() == null ? "" : v.getValue();
            }
            return new Submission(p.getUser().getId(), id, channel, comment);
        }
    }

    // ------------------------------------------------------------ work done after the ack

    private void approve(Click c) {
        Optional<Reviewer> reviewer = reviewer(c.user(), c.channel());
        if (reviewer.isEmpty()) {
            return;
        }
        if (settings.requireCommentOnCritical()) {
            Optional<ApprovalRequest> r = service.request(c.requestId());
            if (r.isPresent() && r.get().tier() == Tier.CRITICAL && r.get().state() == RequestState.PENDING) {
                openModal(c, true, r.get());
                return;
            }
        }
        decide(c.requestId(), reviewer.get(), Verdict.APPROVE, "", c.user(), c.channel());
    }

    private void openDeny(Click c) {
        if (reviewer(c.user(), c.channel()).isEmpty()) {
            return;
        }
        Optional<ApprovalRequest> r = service.request(c.requestId());
        if (r.isEmpty()) {
            ephemeral(c.channel(), c.user(), "Countersign has no request " + c.requestId() + "; nothing was decided.");
            return;
        }
        openModal(c, false, r.get());
    }

    private void openModal(Click c, boolean approve, ApprovalRequest r) {
        String metadata = JSON.createObjectNode().put("id", r.id()).put("channel", c.channel()).put("ts", c.messageTs()).toString();
        String view = approve ? notifier.messages().approveModal(r, metadata) : notifier.messages().denyModal(r, metadata);
        api.<ViewsOpenResponse>call("views.open", () -> api.methods().viewsOpen(v -> v.triggerId(c.triggerId()).viewAsString(view)))
                .exceptionally(e -> {
                    ephemeral(c.channel(), c.user(), "Countersign could not open the " + (approve ? "approval" : "denial")
                            + " form (" + e.getMessage() + "); try again, or decide in the console.");
                    return null;
                });
    }

    private void grant(Click c) {
        Optional<Reviewer> reviewer = reviewer(c.user(), c.channel());
        if (reviewer.isEmpty()) {
            return;
        }
        try {
            service.grant(c.requestId(), reviewer.get(), GRANT, Channel.SLACK);
        } catch (DecisionRefusedException e) {
            ephemeral(c.channel(), c.user(), refusal(e));
        }
    }

    private void submit(Submission s, Verdict verdict) {
        Optional<Reviewer> reviewer = reviewer(s.user(), s.channel());
        if (reviewer.isPresent()) {
            decide(s.requestId(), reviewer.get(), verdict, s.comment(), s.user(), s.channel());
        }
    }

    private void decide(String id, Reviewer reviewer, Verdict verdict, String comment, String user, String channel) {
        try {
            service.decide(id, reviewer, verdict, comment, Channel.SLACK);
        } catch (DecisionRefusedException e) {
            ephemeral(channel, user, refusal(e));
        } catch (RuntimeException e) {
            LOG.warn("slack: deciding {} for {} failed", id, reviewer.name(), e);
            ephemeral(channel, user, "Countersign could not record your decision (" + e.getMessage()
                    + "); nothing was decided, try again or use the console.");
        }
    }

    /** The clicking user's reviewer identity, or an ephemeral message saying why they have none. */
    private Optional<Reviewer> reviewer(String user, String channel) {
        return switch (reviewers.resolve(user)) {
            case SlackReviewers.Mapped m -> {
                notifier.rememberSlackUser(m.reviewer().name(), user);
                yield Optional.of(m.reviewer());
            }
            case SlackReviewers.Unmapped u -> {
                ephemeral(channel, user, u.reason());
                yield Optional.empty();
            }
        };
    }

    private static String refusal(DecisionRefusedException e) {
        return ":no_entry_sign: Not recorded: " + e.getMessage() + ".";
    }

    private void ephemeral(String channel, String user, String text) {
        if (channel == null) {
            LOG.info("slack: cannot tell user {} (no channel): {}", user, text);
            return;
        }
        api.<ChatPostEphemeralResponse>call("chat.postEphemeral",
                () -> api.methods().chatPostEphemeral(m -> m.channel(channel).user(user).text(text)));
    }
}
