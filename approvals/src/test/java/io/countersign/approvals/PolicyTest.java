package io.countersign.approvals;

import static io.countersign.approvals.Facts.facts;
import static io.countersign.approvals.Facts.of;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.countersign.analysis.Category;
import io.countersign.approvals.policy.PolicyCheck;
import io.countersign.approvals.policy.PolicyDecision;
import io.countersign.approvals.policy.PolicyEngine;
import io.countersign.approvals.policy.PolicyException;
import io.countersign.approvals.policy.PolicyHolder;
import io.countersign.approvals.policy.PolicyReloadEvent;
import io.countersign.approvals.policy.StatementFacts;
import io.countersign.approvals.policy.Tier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyTest {

    private static PolicyException parseError(String yaml) {
        try {
            PolicyEngine.parse(yaml, "test.yaml");
        } catch (PolicyException e) {
            return e;
        }
        throw new AssertionError("expected a PolicyException for:\n" + yaml);
    }

    @Test
    void unknownKeysAndBadValuesNameTheKeyPathAndWhatIsExpected() {
        assertThat(parseError("rules:\n  - name: a\n    action: hold\n    match: { colour: red }\n").getMessage())
                .contains("test.yaml").contains("rules[0].match.colour").contains("not a known key").contains("categories");
        assertThat(parseError("rules:\n  - name: a\n    action: hold\n    tier: urgent\n").getMessage())
                .contains("rules[0].tier").contains("'urgent'").contains("low, high, critical");
        assertThat(parseError("rules:\n  - name: a\n    action: maybe\n").getMessage())
                .contains("rules[0].action").contains("allow, hold, deny");
        assertThat(parseError("rules:\n  - name: a\n    action: hold\n    hold-timeout: soon\n").getMessage())
                .contains("rules[0].hold-timeout").contains("15m");
        assertThat(parseError("rules:\n  - name: a\n    action: hold\n    quorum: 0\n").getMessage())
                .contains("rules[0].quorum").contains("1 to 10");
        assertThat(parseError("rules:\n  - name: a\n    action: hold\n    match: { categories: [SENSITIVE_READ, SECRET] }\n").getMessage())
                .contains("rules[0].match.categories[1]").contains("'SECRET'");
        assertThat(parseError("rule:\n  - name: a\n").getMessage()).contains("rule ").contains("not a known key");
        assertThat(parseError("defaults: {}\n").getMessage()).contains("rules").contains("missing");
        assertThat(parseError("rules:\n  - name: a\n    action: allow\n  - name: a\n    action: hold\n").getMessage())
                .contains("rules[1].name").contains("unique");
        assertThat(parseError("rules: [ {name: a, action: hold, match: {tables: []}} ]").getMessage())
                .contains("rules[0].match.tables").contains("empty list");
        assertThat(parseError("rules: [ { name: a\n").getMessage()).contains("not valid YAML");
    }

    @Test
    void firstMatchingRuleDecidesAndEveryConditionMustHold() {
        PolicyEngine policy = PolicyEngine.parse("""
                defaults: { reviewers: dba, hold-timeout: 10m, approval-validity: 30m }
                rules:
                  - name: nightly-job
                    match: { agents: ["etl-*"], databases: [shop], kinds: [delete] }
                    action: allow
                  - name: no-payroll
                    match: { tables: ["hr.payroll*"] }
                    action: deny
                    reason: payroll is off limits to agents
                  - name: emails
                    match: { columns: ["*.email"], agent-groups: [bots] }
                    action: hold
                    tier: low
                    reviewers: support
                    quorum: 1
                    hold-timeout: 2m
                    slack-channel: "#support-approvals"
                  - name: rest
                    action: allow
                """, "inline");
        var delete = of("DELETE", "DELETE FROM orders", Category.DESTRUCTIVE);
        assertThat(policy.decide(facts("etl-nightly", delete))).isEqualTo(new PolicyDecision.Allow("nightly-job"));
        // same statement, other agent: falls through to "rest"
        assertThat(policy.decide(facts("helper", delete)).rule()).isEqualTo("rest");

        var payroll = Facts.select("SELECT * FROM hr.payroll_2025", Set.of("hr.payroll_2025"), Set.of("hr.payroll_2025.amount"));
        assertThat(policy.decide(facts("helper", payroll)))
                .isEqualTo(new PolicyDecision.Deny("no-payroll", "payroll is off limits to agents"));

        PolicyDecision email = policy.decide(facts("helper", Facts.emailRead()));
        assertThat(email).isInstanceOf(PolicyDecision.Hold.class);
        PolicyDecision.Hold hold = (PolicyDecision.Hold) email;
        assertThat(hold.tier()).isEqualTo(Tier.LOW);
        assertThat(hold.reviewerGroup()).isEqualTo("support");
        assertThat(hold.timeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(hold.validity()).isEqualTo(Duration.ofMinutes(30));
        assertThat(hold.reasons()).containsExactly("SENSITIVE_READ: reads sensitive column public.customers.email");
        assertThat(policy.rule("emails").orElseThrow().slackChannel()).isEqualTo("#support-approvals");

        // agent group condition: an agent outside "bots" is not held by "emails"
        StatementFacts human = new StatementFacts("helper", Set.of("analysts"), "olivia", "shop", List.of(Facts.emailRead()));
        assertThat(policy.decide(human).rule()).isEqualTo("rest");
    }

    @Test
    void runAsLendsTheRoleOnlyWhenEveryStatementWasHeldByARuleNamingIt() {
        PolicyEngine policy = PolicyEngine.parse("""
                rules:
                  - name: ledger-deletes
                    match: { kinds: [delete] }
                    action: hold
                    run-as: ledger_admin
                  - name: drops
                    match: { kinds: [drop table] }
                    action: hold
                  - name: rest
                    action: allow
                """, "inline");
        var delete = of("DELETE", "DELETE FROM ledger", Category.DESTRUCTIVE);
        var drop = of("DROP TABLE", "DROP TABLE ledger", Category.DESTRUCTIVE);
        var select = of("SELECT", "SELECT 1");
        var begin = of("BEGIN", "BEGIN");
        assertThat(policy.runAs(facts("ops", delete))).contains("ledger_admin");
        assertThat(policy.runAs(facts("ops", delete, delete))).contains("ledger_admin");
        // another statement in the same string held without run-as, or allowed, or a transaction control: no role
        assertThat(policy.runAs(facts("ops", delete, drop))).isEmpty();
        assertThat(policy.runAs(facts("ops", delete, select))).isEmpty();
        assertThat(policy.runAs(facts("ops", begin, delete))).isEmpty();
        assertThat(policy.rule("ledger-deletes").orElseThrow().runAs()).isEqualTo("ledger_admin");

        assertThat(parseError("""
                rules:
                  - {name: a, action: allow, run-as: admin}
                """).getMessage()).contains("rules[0].run-as").contains("applies only to action hold");
        assertThat(parseError("""
                rules:
                  - {name: a, action: hold, run-as: "admin; DROP"}
                """).getMessage()).contains("rules[0].run-as").contains("is not a role name");
    }

    @Test
    void noMatchingRuleHoldsFailClosed() {
        PolicyEngine policy = PolicyEngine.parse("rules: [ {name: only-etl, match: {agents: [etl]}, action: allow} ]", "inline");
        PolicyDecision d = policy.decide(facts("helper", of("SELECT", "SELECT 1")));
        assertThat(d).isInstanceOf(PolicyDecision.Hold.class);
        assertThat(d.rule()).isEqualTo(PolicyEngine.NO_MATCH);
    }

    @Test
    void defaultPolicyDecidesEachCategory() {
        PolicyEngine policy = PolicyEngine.defaultPolicy();
        assertThat(policy.decide(facts("bot", of("SELECT", "SELECT id FROM orders")))).isInstanceOf(PolicyDecision.Allow.class);
        assertThat(policy.decide(facts("bot", of("UPDATE", "UPDATE orders SET note = 'x' WHERE id = 1"))))
                .isInstanceOf(PolicyDecision.Allow.class);
        for (Category c : List.of(Category.SENSITIVE_READ, Category.SENSITIVE_WRITE, Category.EXPORT, Category.DESTRUCTIVE,
                Category.UNANALYSABLE, Category.DANGEROUS_FUNCTION)) {
            PolicyDecision d = policy.decide(facts("bot", of("X", "statement " + c, c)));
            assertThat(d).as(c.name()).isInstanceOf(PolicyDecision.Hold.class);
            PolicyDecision.Hold h = (PolicyDecision.Hold) d;
            assertThat(h.tier()).as(c.name()).isEqualTo(Tier.HIGH);
            assertThat(h.quorum()).as(c.name()).isEqualTo(1);
            assertThat(h.reviewerGroup()).isEqualTo("dba");
        }
        for (Category c : List.of(Category.PRIVILEGE, Category.SESSION_AUTH)) {
            PolicyDecision.Hold h = (PolicyDecision.Hold) policy.decide(facts("bot", of("GRANT", "statement " + c, c)));
            assertThat(h.tier()).as(c.name()).isEqualTo(Tier.CRITICAL);
            assertThat(h.quorum()).as(c.name()).isEqualTo(2);
            assertThat(h.reviewerGroup()).isEqualTo("security");
        }
        // a string of statements gets the strictest decision, with every reason
        PolicyDecision.Hold both = (PolicyDecision.Hold) policy.decide(facts("bot", Facts.emailRead(),
                of("GRANT", "GRANT ALL ON customers TO bot", Category.PRIVILEGE)));
        assertThat(both.tier()).isEqualTo(Tier.CRITICAL);
        assertThat(both.quorum()).isEqualTo(2);
        assertThat(both.reasons()).hasSize(2);
        assertThat(policy.sha256()).hasSize(64);
    }

    @Test
    void holderSwapsPolicyOnChangeAndKeepsTheOldOneWhenTheNewFileIsBad(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("policy.yaml");
        Files.writeString(file, "rules: [ {name: everything, action: allow} ]\n");
        List<PolicyReloadEvent> events = new CopyOnWriteArrayList<>();
        try (PolicyHolder holder = PolicyHolder.watch(file, Duration.ofMillis(50))) {
            holder.addListener(events::add);
            PolicyEngine first = holder.current();
            assertThat(first.decide(facts("bot", Facts.emailRead()))).isInstanceOf(PolicyDecision.Allow.class);

            Files.writeString(file, "rules: [ {name: hold-all, action: hold} ]\n");
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (events.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(holder.current().decide(facts("bot", Facts.emailRead())).rule()).isEqualTo("hold-all");
            assertThat(events).hasSize(1);
            PolicyReloadEvent.Reloaded reloaded = (PolicyReloadEvent.Reloaded) events.get(0);
            assertThat(reloaded.previousSha256()).isEqualTo(first.sha256());
            assertThat(reloaded.sha256()).isEqualTo(holder.current().sha256()).isNotEqualTo(first.sha256());

            PolicyEngine second = holder.current();
            Files.writeString(file, "rules: [ {name: broken, action: perhaps} ]\n");
            PolicyReloadEvent e = null;
            while (e == null && System.nanoTime() < deadline + 20_000_000_000L) {
                Thread.sleep(20);
                e = events.size() > 1 ? events.get(1) : null;
            }
            assertThat(e).isInstanceOf(PolicyReloadEvent.Rejected.class);
            assertThat(((PolicyReloadEvent.Rejected) e).error()).contains("rules[0].action").contains("keeping the previous policy");
            assertThat(holder.current()).isSameAs(second);
            assertThat(holder.checkNow()).as("unchanged bad file is reported once").isNull();
            assertThat(events).hasSize(2);
        }
    }

    @Test
    void holderRefusesToStartOnABadFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("policy.yaml");
        Files.writeString(file, "rules: [ {name: x, action: hold, quorum: many} ]\n");
        assertThatThrownBy(() -> PolicyHolder.watch(file, Duration.ofSeconds(1)))
                .isInstanceOf(PolicyException.class).hasMessageContaining("rules[0].quorum");
        assertThatThrownBy(() -> PolicyHolder.watch(dir.resolve("missing.yaml"), Duration.ofSeconds(1)))
                .isInstanceOf(PolicyException.class).hasMessageContaining("missing.yaml").hasMessageContaining("cannot be read");
    }

    @Test
    void checkRendersAnalysisAndDecision() {
        PolicyEngine policy = PolicyEngine.defaultPolicy();
        String text = PolicyCheck.render(policy, facts("bot", Facts.emailRead()));
        assertThat(text).contains("agent:    bot").contains("public.customers.email").contains("SENSITIVE_READ")
                .contains("decision: HOLD (rule sensitive-export-destructive)").contains("tier:      high")
                .contains("reviewers: dba, quorum 1");
        assertThat(PolicyCheck.render(policy, facts("bot", of("SELECT", "SELECT 1")))).contains("decision: ALLOW (rule plain)");
    }
}
