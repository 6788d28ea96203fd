package io.countersign.approvals.teams;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Channel;
import io.countersign.approvals.Decision;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.Verdict;
import io.countersign.approvals.policy.Tier;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TeamsCardsTest {

    static final Instant CREATED = Instant.parse("2026-11-28T09:00:00Z");
    static final TeamsSettings BOT = TeamsSettings.bot("app-id", "pw", "19:general@thread.tacv2", "https://cs.example:8443");
    static final TeamsSettings WEBHOOK = TeamsSettings.webhook("https://prod.workflows.example/hook", "https://cs.example:8443");

    static ApprovalRequest request(String sql, List<String> params, Tier tier, int quorum, RequestState state, String reason,
            Decision... decisions) {
        return new ApprovalRequest("apr-abc123", 3, "reporting-bot", "olivia@example.com", "shop", "10.0.0.7:51234", sql, params,
                List.of("SENSITIVE_READ: reads sensitive column public.customers.email"), List.of("public.customers.email"), tier,
                "sensitive", quorum, "dba", Duration.ofHours(1), "fp", "hash", CREATED, CREATED.plusSeconds(900), state, reason, null,
                false, "local", List.of(decisions));
    }

    static ApprovalRequest pending() {
        return request("SELECT email FROM customers WHERE id = $1", List.of("42"), Tier.HIGH, 1, RequestState.PENDING, "");
    }

    /** Every text the card shows, in order (text runs and plain text blocks). */
    static List<String> texts(JsonNode card) {
        return card.findValuesAsText("text");
    }

    static String shown(JsonNode card) {
        return String.join("\n", texts(card));
    }

    @Test
    void aPendingCardShowsEverythingAReviewerNeedsAndOffersApproveAndDenyWithARequiredReason() {
        ObjectNode card = new TeamsCards(BOT).card(pending());
        assertThat(card.path("type").asText()).isEqualTo("AdaptiveCard");
        assertThat(card.path("version").asText()).as("Action.Execute needs 1.4").isEqualTo("1.4");
        String shown = shown(card);
        assertThat(shown).contains("reporting-bot wants to run a statement on shop", "Agent: ", "Owner: ", "olivia@example.com",
                "Database: ", "Tier: ", "high", "Reviewers: ", "dba (1 approval)", "Expires: ", "2026-11-28 09:15 UTC",
                "rule sensitive", "reads sensitive column public.customers.email", "Sensitive columns: ",
                "SELECT email FROM customers WHERE id = $1", "$1 = '42'", "Waiting for 1 approval from dba", "10.0.0.7:51234");

        JsonNode actions = card.path("actions");
        assertThat(actions.get(0).path("type").asText()).isEqualTo("Action.Execute");
        assertThat(actions.get(0).path("verb").asText()).isEqualTo(TeamsCards.APPROVE);
        assertThat(actions.get(0).path("data").path(TeamsCards.REQUEST_ID).asText()).isEqualTo("apr-abc123");
        JsonNode deny = actions.get(1);
        assertThat(deny.path("type").asText()).isEqualTo("Action.ShowCard");
        JsonNode input = deny.path("card").path("body").get(0);
        assertThat(input.path("type").asText()).isEqualTo("Input.Text");
        assertThat(input.path("id").asText()).isEqualTo(TeamsCards.REASON_INPUT);
        assertThat(input.path("isRequired").asBoolean()).isTrue();
        assertThat(deny.path("card").path("actions").get(0).path("verb").asText()).isEqualTo(TeamsCards.DENY);
        assertThat(deny.path("card").path("actions").get(0).path("data").path(TeamsCards.REQUEST_ID).asText()).isEqualTo("apr-abc123");
        assertThat(actions.get(2).path("type").asText()).isEqualTo("Action.OpenUrl");
        assertThat(actions.get(2).path("url").asText()).isEqualTo("https://cs.example:8443/console/#apr-abc123");
    }

    @Test
    void theWebhookCardOnlyLinksToTheConsole() {
        ObjectNode message = new TeamsCards(WEBHOOK).webhookMessage(pending());
        assertThat(message.path("type").asText()).isEqualTo("message");
        JsonNode attachment = message.path("attachments").get(0);
        assertThat(attachment.path("contentType").asText()).isEqualTo("application/vnd.microsoft.card.adaptive");
        JsonNode card = attachment.path("content");
        assertThat(card.findValuesAsText("verb")).isEmpty();
        assertThat(card.path("actions")).singleElement().satisfies(a -> {
            assertThat(a.path("type").asText()).isEqualTo("Action.OpenUrl");
            assertThat(a.path("url").asText()).isEqualTo("https://cs.example:8443/console/#apr-abc123");
        });
        assertThat(shown(card)).contains("SELECT email FROM customers WHERE id = $1");
    }

    @Test
    void quorumProgressThenTheFinalStateWithoutButtons() {
        Decision alice = new Decision("alice", Verdict.APPROVE, "", CREATED.plusSeconds(60), Channel.TEAMS);
        Decision bob = new Decision("bob", Verdict.APPROVE, "checked the ticket", CREATED.plusSeconds(90), Channel.SLACK);
        TeamsCards cards = new TeamsCards(BOT);
        ApprovalRequest half = request("GRANT SELECT ON items TO PUBLIC", List.of(), Tier.CRITICAL, 2, RequestState.PENDING,
                "1 of 2 approvals", alice);
        ObjectNode card = cards.card(half);
        assertThat(shown(card)).contains("1 of 2 approvals: alice").contains("dba (2 approvals)").doesNotContain("Parameters:");
        assertThat(card.findValuesAsText("verb")).containsExactly(TeamsCards.APPROVE, TeamsCards.DENY);

        ApprovalRequest approved = request("GRANT SELECT ON items TO PUBLIC", List.of(), Tier.CRITICAL, 2, RequestState.APPROVED,
                "approved", alice, bob);
        ObjectNode done = cards.card(approved);
        assertThat(shown(done)).contains("Approved by alice, bob (checked the ticket)");
        assertThat(done.findValuesAsText("verb")).isEmpty();
        assertThat(done.path("actions").findValuesAsText("type")).containsExactly("Action.OpenUrl");

        Decision carol = new Decision("carol", Verdict.DENY, "not during the sale", CREATED.plusSeconds(30), Channel.TEAMS);
        ObjectNode denied = cards.card(request("DELETE FROM items", List.of(), Tier.HIGH, 1, RequestState.DENIED, "not during the sale",
                carol));
        assertThat(shown(denied)).contains("Denied by carol: not during the sale");
        assertThat(shown(cards.card(request("DELETE FROM items", List.of(), Tier.HIGH, 1, RequestState.EXECUTED, "executed", alice))))
                .contains("Executed (approved by alice)");
    }

    @Test
    void statementTextIsShownAsWrittenNeverAsMarkdown() {
        String sql = "SELECT '[click here](https://evil.example)' AS **x** FROM _t_";
        ObjectNode card = new TeamsCards(BOT).card(request(sql, Arrays.asList(null, "a*b"), Tier.HIGH, 1, RequestState.PENDING, ""));
        // every piece of text is a TextRun (shown as written); no TextBlock or FactSet, which Teams reads as Markdown
        assertThat(card.findValuesAsText("type")).doesNotContain("TextBlock", "FactSet");
        assertThat(texts(card)).contains(sql).anySatisfy(t -> assertThat(t).isEqualTo("$1 = NULL, $2 = 'a*b'"));
    }

    @Test
    void longStatementsAreCutWithANote() {
        String sql = "SELECT " + "x, ".repeat(3000) + "1";
        ObjectNode card = new TeamsCards(BOT).card(request(sql, List.of(), Tier.HIGH, 1, RequestState.PENDING, ""));
        String shownSql = card.findValues("items").get(0).findValuesAsText("text").get(0);
        assertThat(shownSql).hasSize(TeamsCards.SQL_LIMIT).endsWith("\u2026");
        assertThat(shown(card)).contains("Statement cut at " + TeamsCards.SQL_LIMIT + " of " + sql.length() + " characters");
    }

    @Test
    void theBotActivityCarriesTheCardAsItsOneAttachment() {
        ObjectNode activity = new TeamsCards(BOT).activity(pending());
        assertThat(activity.path("type").asText()).isEqualTo("message");
        assertThat(activity.path("summary").asText()).contains("reporting-bot on shop waits for approval").contains("apr-abc123");
        assertThat(activity.path("attachments")).hasSize(1);
        assertThat(activity.path("attachments").get(0).path("content").path("type").asText()).isEqualTo("AdaptiveCard");
        // no console URL: no link
        TeamsSettings noConsole = TeamsSettings.bot("app-id", "pw", "19:general@thread.tacv2", "");
        List<String> types = new ArrayList<>();
        new TeamsCards(noConsole).card(pending()).path("actions").forEach(a -> types.add(a.path("type").asText()));
        assertThat(types).containsExactly("Action.Execute", "Action.ShowCard");
    }
}
