package io.countersign.approvals.slack;

import com.slack.api.methods.response.users.UsersInfoResponse;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.ReviewerDirectory;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Who a Slack user is in Countersign: the config's explicit mapping (Slack user id to reviewer
 * name) first, else the reviewer whose e-mail equals the one {@code users.info} returns for them.
 * Called on Slack threads only (it may wait on {@code users.info}).
 */
public final class SlackReviewers {

    /** What a Slack user is to Countersign. */
    public sealed interface Identity {}

    public record Mapped(Reviewer reviewer) implements Identity {}

    /** The Slack user is not a reviewer; {@code reason} is shown to them. */
    public record Unmapped(String reason) implements Identity {}

    private final SlackApi api;
    private final ReviewerDirectory directory;
    private final Function<String, Optional<Reviewer>> byEmail;
    private final Map<String, String> mapping;
    private final Map<String, String> emails = new ConcurrentHashMap<>();

    /**
     * @param byEmail finds a configured reviewer by e-mail (the directory has no such index; the
     *                server passes its reviewer list, see {@link #byEmail(Collection)})
     */
    public SlackReviewers(SlackApi api, ReviewerDirectory directory, Function<String, Optional<Reviewer>> byEmail) {
        this.api = api;
        this.directory = directory;
        this.byEmail = byEmail == null ? e -> Optional.empty() : byEmail;
        this.mapping = api.settings().userMapping();
    }

    /** An e-mail index over the configured reviewers (case-insensitive). */
    public static Function<String, Optional<Reviewer>> byEmail(Collection<Reviewer> reviewers) {
        Map<String, Reviewer> index = reviewers.stream().filter(r -> !r.email().isBlank())
                .collect(Collectors.toMap(r -> r.email().toLowerCase(Locale.ROOT), r -> r, (a, b) -> a));
        return email -> Optional.ofNullable(index.get(email.toLowerCase(Locale.ROOT)));
    }

    /** The reviewer, or why this Slack user cannot review. */
    public Identity resolve(String slackUserId) {
        String mapped = mapping.get(slackUserId);
        if (mapped != null) {
            return directory.byName(mapped).<Identity>map(Mapped::new)
                    .orElseGet(() -> new Unmapped("Your Slack account is mapped to reviewer '" + mapped
                            + "', who is not in Countersign's reviewer list; ask an admin to fix slack.user-mapping."));
        }
        String email = emails.get(slackUserId);
        if (email == null) {
            try {
                UsersInfoResponse info = api.<UsersInfoResponse>call("users.info",
                        () -> api.methods().usersInfo(q -> q.user(slackUserId))).get(
                                api.settings().callTimeout().toMillis() * (api.settings().maxAttempts() + 1), TimeUnit.MILLISECONDS);
                email = info.getUser() == null || info.getUser().getProfile() == null ? null : info.getUser().getProfile().getEmail();
            } catch (ExecutionException | TimeoutException e) {
                return new Unmapped("Countersign could not look up your Slack profile (" + rootMessage(e)
                        + "); try again, or decide in the console.");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Unmapped("interrupted while looking up your Slack profile");
            }
            if (email == null || email.isBlank()) {
                return new Unmapped("Slack did not share your e-mail with Countersign (the app needs users:read.email), and"
                        + " slack.user-mapping does not list your user id " + slackUserId + "; ask an admin to add you.");
            }
            emails.put(slackUserId, email);
        }
        String found = email;
        return byEmail.apply(found).<Identity>map(Mapped::new).orElseGet(() -> new Unmapped("You are not a Countersign reviewer: no"
                + " reviewer has the e-mail " + found + " and slack.user-mapping does not list your user id " + slackUserId
                + "; nothing was decided."));
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
