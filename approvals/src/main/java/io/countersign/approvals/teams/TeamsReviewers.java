package io.countersign.approvals.teams;

import com.fasterxml.jackson.databind.JsonNode;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.ReviewerDirectory;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * Who a Teams user is in Countersign: the config's {@code teams.user-mapping} (AAD object id to
 * reviewer name) first, else the reviewer whose e-mail equals the user's e-mail or user principal
 * name, as the Bot Connector's conversation member lookup reports it. Whether that reviewer may
 * decide (group, own agent, agent identity) is the approval service's call, not this class's.
 */
public final class TeamsReviewers {

    /** What a Teams user is to Countersign. */
    public sealed interface Identity {}

    public record Mapped(Reviewer reviewer) implements Identity {}

    /** The Teams user is not a reviewer; {@code reason} is shown to them. */
    public record Unmapped(String reason) implements Identity {}

    /** The user as an activity's {@code from} names them, and where to look them up. */
    public record TeamsUser(String id, String aadObjectId, String name, String conversationId, String serviceUrl) {}

    private final TeamsApi api;
    private final ReviewerDirectory directory;
    private final Function<String, Optional<Reviewer>> byEmail;
    private final Map<String, String> mapping;
    /** AAD object id (or Teams user id) to the e-mail the connector reported, so each user is looked up once. */
    private final Map<String, String> emails = new ConcurrentHashMap<>();

    public TeamsReviewers(TeamsApi api, ReviewerDirectory directory, Function<String, Optional<Reviewer>> byEmail) {
        this.api = api;
        this.directory = directory;
        this.byEmail = byEmail == null ? e -> Optional.empty() : byEmail;
        this.mapping = api.settings().userMapping();
    }

    /** The reviewer, or why this Teams user cannot review. Blocking: may wait for one member lookup. */
    public Identity resolve(TeamsUser user) {
        String aad = user.aadObjectId() == null ? "" : user.aadObjectId();
        String mapped = aad.isEmpty() ? null : mapping.get(aad);
        if (mapped != null) {
            return directory.byName(mapped).<Identity>map(Mapped::new)
                    .orElseGet(() -> new Unmapped("Your Teams account is mapped to reviewer '" + mapped
                            + "', who is not in Countersign's reviewer list; ask an admin to fix teams.user-mapping."));
        }
        String key = aad.isEmpty() ? user.id() : aad;
        String email = emails.get(key);
        if (email == null) {
            try {
                JsonNode member = api.member(user.serviceUrl(), user.conversationId(), user.id())
                        .get(api.settings().callTimeout().toMillis() * 2, TimeUnit.MILLISECONDS);
                email = member.path("email").asText("");
                if (email.isBlank()) {
                    email = member.path("userPrincipalName").asText("");
                }
            } catch (ExecutionException | TimeoutException e) {
                return new Unmapped("Countersign could not look up your Teams profile (" + rootMessage(e)
                        + "); try again, or decide in the console.");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Unmapped("interrupted while looking up your Teams profile");
            }
            if (email.isBlank()) {
                return new Unmapped("Teams did not give Countersign your e-mail, and teams.user-mapping does not list your AAD"
                        + " object id " + aad + "; ask an admin to add you.");
            }
            emails.put(key, email);
        }
        String found = email;
        return byEmail.apply(found).<Identity>map(Mapped::new).orElseGet(() -> new Unmapped("You are not a Countersign reviewer: no"
                + " reviewer has the e-mail " + found + " and teams.user-mapping does not list your AAD object id " + aad
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
