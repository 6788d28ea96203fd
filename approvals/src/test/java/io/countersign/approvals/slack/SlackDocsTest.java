package io.countersign.approvals.slack;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Channel;
import io.countersign.approvals.Decision;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.Verdict;
import io.countersign.approvals.policy.Tier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** SLACK.md shows a reviewer's message as Block Kit JSON; this keeps it equal to what the code sends. */
class SlackDocsTest {

    static final Path DOC = Path.of("SLACK.md");
    static final String MARKER = "<!-- example-message: checked by SlackDocsTest -->";

    static ApprovalRequest example() {
        Instant created = Instant.parse("2026-11-28T09:14:03Z");
        return new ApprovalRequest("apr-k7m2q9xw4t", 2, "billing-agent", "olivia", "shop", "10.0.4.17:52114",
                "SELECT c.email, c.phone, o.total FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.created_at > $1",
                List.of("2026-11-01"), List.of("SENSITIVE_READ: reads sensitive columns public.customers.email, public.customers.phone"),
                List.of("public.customers.email", "public.customers.phone"), Tier.CRITICAL, "pii-reads", 2, "security",
                Duration.ofMinutes(10), "SELECT c.email, c.phone, o.total FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.created_at > ?",
                "0f3c", created, created.plus(Duration.ofMinutes(30)), RequestState.PENDING, "1 of 2 approvals", null, false, "cs-1",
                List.of(new Decision("alice", Verdict.APPROVE, "", created.plusSeconds(40), Channel.SLACK)));
    }

    @Test
    void theExampleMessageInSlackMdIsWhatCountersignSends() throws Exception {
        SlackSettings settings = SlackSettings.of("xoxb-x", "secret", "#db-approvals", "https://countersign.example.com")
                .withUserMapping(Map.of("U024BE7LH", "alice"));
        SlackMessages messages = new SlackMessages(settings, name -> name.equals("alice") ? "<@U024BE7LH>" : name);
        JsonNode rendered = messages.blockArray(example());
        String pretty = FakeSlack.JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(rendered);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target", "slack-example-message.json"), pretty + "\n", StandardCharsets.UTF_8);

        String doc = Files.readString(DOC, StandardCharsets.UTF_8);
        int at = doc.indexOf(MARKER);
        assertThat(at).as("SLACK.md has the example marker").isNotNegative();
        int start = doc.indexOf("```json\n", at) + "```json\n".length();
        int end = doc.indexOf("```\n", start);
        JsonNode documented = FakeSlack.JSON.readTree(doc.substring(start, end));
        assertThat(documented).as("SLACK.md's example vs target/slack-example-message.json").isEqualTo(rendered);
    }
}
