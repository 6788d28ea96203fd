package io.countersign.approvals.slack;

import com.sun.net.httpserver.HttpHandler;
import io.countersign.approvals.ApprovalService;
import io.countersign.approvals.Reviewer;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything Slack, wired: the notifier subscribed to the service, the Bolt app, the HTTP handler
 * to mount at {@code /slack/events}, and Socket Mode when an app token is configured.
 *
 * <pre>{@code
 * SlackIntegration slack = SlackIntegration.start(settings, service,
 *         rule -> policy.current().rule(rule).flatMap(PolicyRule::slack),
 *         SlackReviewers.byEmail(configuredReviewers), registry);
 * adminHttp.createContext("/slack/events", slack.httpHandler());
 * }</pre>
 */
public final class SlackIntegration implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SlackIntegration.class);

    private final SlackApi api;
    private final ApprovalService service;
    private final SlackNotifier notifier;
    private final SlackInteractions interactions;
    private final SlackHttpHandler httpHandler;
    private volatile SlackSocketMode socketMode;
    private volatile boolean closed;

    private SlackIntegration(SlackApi api, ApprovalService service, SlackNotifier notifier, SlackInteractions interactions) {
        this.api = api;
        this.service = service;
        this.notifier = notifier;
        this.interactions = interactions;
        this.httpHandler = new SlackHttpHandler(interactions);
    }

    /**
     * @param channelForRule  a policy rule's {@code slack-channel} by rule name
     * @param reviewerByEmail finds a configured reviewer by e-mail ({@link SlackReviewers#byEmail})
     */
    public static SlackIntegration start(SlackSettings settings, ApprovalService service,
            Function<String, Optional<String>> channelForRule, Function<String, Optional<Reviewer>> reviewerByEmail,
            MeterRegistry registry) {
        SlackApi api = new SlackApi(settings, registry);
        SlackNotifier notifier = new SlackNotifier(api, channelForRule, service.reviewers());
        SlackInteractions interactions = new SlackInteractions(api, service, notifier,
                new SlackReviewers(api, service.reviewers(), reviewerByEmail));
        SlackIntegration integration = new SlackIntegration(api, service, notifier, interactions);
        if (settings.socketMode()) {
            // Connecting may take seconds (Bolt retries); Countersign's startup does not wait for it.
            Thread connect = new Thread(() -> {
                try {
                    integration.socketMode = SlackSocketMode.start(settings, interactions);
                    if (integration.closed) {
                        integration.socketMode.close();
                    }
                } catch (IllegalStateException e) {
                    // Fail open for Slack only: the hold still works through the console, CLI and API.
                    LOG.warn("{}; Slack buttons will not work until restart, messages are still posted", e.getMessage());
                }
            }, "slack-socket-mode-connect");
            connect.setDaemon(true);
            connect.start();
        }
        service.addListener(notifier);
        LOG.info("slack: enabled ({})", settings);
        return integration;
    }

    /** Mount on the admin HTTP server, e.g. at {@code /slack/events} (the manifest's request URL). */
    public HttpHandler httpHandler() {
        return httpHandler;
    }

    public SlackNotifier notifier() {
        return notifier;
    }

    public SlackInteractions interactions() {
        return interactions;
    }

    @Override
    public void close() {
        closed = true;
        service.removeListener(notifier);
        SlackSocketMode socket = socketMode;
        if (socket != null) {
            socket.close();
        }
        try {
            interactions.close();
        } catch (Exception e) {
            LOG.debug("slack: stopping the Bolt app", e);
        }
        api.close();
    }
}
