package io.countersign.approvals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ReviewerConfigTest {

    @Test
    void readsReviewersTokensAndAgents() {
        String yaml = """
                reviewers:
                  - name: alice
                    email: alice@example.com
                    groups: [dba, security]
                    token-sha256: %s
                  - name: bob
                    groups: [dba]
                    token-env: BOB_TOKEN
                  - name: carol
                    groups: [support]
                    token: carol-secret
                agents: [reporting-bot]
                """.formatted(BindingHash.sha256("alice-secret"));
        ReviewerDirectory d = ReviewerConfig.parse(yaml, "test.yaml", Map.of("BOB_TOKEN", "bob-secret")::get);
        assertThat(d.authenticate("alice-secret")).hasValueSatisfying(r -> {
            assertThat(r.name()).isEqualTo("alice");
            assertThat(r.groups()).containsExactlyInAnyOrder("dba", "security");
        });
        assertThat(d.authenticate("bob-secret")).map(Reviewer::name).contains("bob");
        assertThat(d.authenticate("carol-secret")).map(Reviewer::name).contains("carol");
        assertThat(d.authenticate("wrong")).isEmpty();
        assertThat(d.authenticate(BindingHash.sha256("alice-secret"))).as("the digest is not the token").isEmpty();
        assertThat(d.isAgent("reporting-bot")).isTrue();
        assertThat(d.isAgent("alice")).isFalse();
    }

    @Test
    void mistakesNameTheKeyAndTheFix() {
        assertThatThrownBy(() -> ReviewerConfig.parse("reviewers:\n  - name: a\n    groups: [dba]\n    token: x\n    role: boss\n",
                "r.yaml")).hasMessageContaining("r.yaml").hasMessageContaining("reviewers[0].role").hasMessageContaining("not a known key");
        assertThatThrownBy(() -> ReviewerConfig.parse("reviewers:\n  - name: a\n    groups: [dba]\n", "r.yaml"))
                .hasMessageContaining("exactly one of token-sha256, token-env, token");
        assertThatThrownBy(() -> ReviewerConfig.parse("reviewers:\n  - name: a\n    groups: []\n    token: x\n", "r.yaml"))
                .hasMessageContaining("reviewers[0].groups");
        assertThatThrownBy(() -> ReviewerConfig.parse("reviewers:\n  - name: a\n    groups: [dba]\n    token-sha256: abc\n", "r.yaml"))
                .hasMessageContaining("64 hex digits");
        assertThatThrownBy(() -> ReviewerConfig.parse("reviewers:\n  - name: a\n    groups: [dba]\n    token-env: NOPE_NOT_SET_X\n",
                "r.yaml", k -> null)).hasMessageContaining("NOPE_NOT_SET_X").hasMessageContaining("not set");
        assertThatThrownBy(() -> ReviewerConfig.parse("reviewers:\n  - {name: a, groups: [dba], token: x}\n"
                + "  - {name: b, groups: [dba], token: x}\n", "r.yaml")).hasMessageContaining("reviewers[1]")
                .hasMessageContaining("already given to another reviewer");
        assertThatThrownBy(() -> ReviewerConfig.parse("reviewers:\n  - {name: a, groups: [dba], token: x}\nagents: [a]\n", "r.yaml"))
                .hasMessageContaining("agents[0]").hasMessageContaining("can never review");
    }
}
