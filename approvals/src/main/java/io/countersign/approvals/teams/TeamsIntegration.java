package io.countersign.approvals.teams;

import com.sun.net.httpserver.HttpHandler;
import io.countersign.approvals.ApprovalService;
import io.countersign.approvals.Reviewer;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything Teams, wired: the notifier subscribed to the service and, in bot mode, the messaging
 * endpoint to mount at {@code /teams/messages}.
 *
 * <pre>{@code
 * TeamsIntegration teams = TeamsIntegration.start(settings, service,
 *         rule -> policy.current().rule(rule).flatMap(PolicyRule::teams),
 *         SlackReviewers.byEmail(configuredReviewers), registry);
 * teams.httpHandler().ifPresent(h -> adminHttp.mount("/teams/messages", h));
 * }</pre>
 */
public final class TeamsIntegration implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TeamsIntegration.class);
    public static final String MESSAGES_PATH = "/teams/messages";

    private final TeamsApi api;
    private final ApprovalService service;
    private final TeamsNotifier notifier;
    private final TeamsHttpHandler httpHandler;

    private TeamsIntegration(TeamsApi api, ApprovalService service, TeamsNotifier notifier, TeamsHttpHandler httpHandler) {
        this.api = api;
        this.service = service;
        this.notifier = notifier;
        this.httpHandler = httpHandler;
    }

    /**
     * @param channelForRule  a policy rule's {@code teams-channel} by rule name
     * @param reviewerByEmail finds a configured reviewer by e-mail
     */
    public static TeamsIntegration start(TeamsSettings settings, ApprovalService service,
            Function<String, Optional<String>> channelForRule, Function<String, Optional<Reviewer>> reviewerByEmail,
            MeterRegistry registry) {
        TeamsApi api = new TeamsApi(settings, registry);
        TeamsNotifier notifier = new TeamsNotifier(api, channelForRule);
        TeamsHttpHandler handler = null;
        if (settings.botMode()) {
            TeamsBot bot = new TeamsBot(service, notifier, new TeamsReviewers(api, service.reviewers(), reviewerByEmail), settings);
            handler = new TeamsHttpHandler(new BotAuthenticator(settings, Clock.systemUTC()), bot);
        }
        service.addListener(notifier);
        LOG.info("teams: enabled ({})", settings);
        return new TeamsIntegration(api, service, notifier, handler);
    }

    /** The bot's messaging endpoint; empty in webhook mode, where Teams never calls Countersign. */
    public Optional<HttpHandler> httpHandler() {
        return Optional.ofNullable(httpHandler);
    }

    public TeamsNotifier notifier() {
        return notifier;
    }

    @Override
    public void close() {
        service.removeListener(notifier);
        api.close();
    }
}
