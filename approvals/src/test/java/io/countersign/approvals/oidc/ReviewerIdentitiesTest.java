package io.countersign.approvals.oidc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jwt.JWTClaimsSet;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.ReviewerDirectory;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Claims to reviewer: e-mail links the directory, the groups claim (nested or flat) maps to policy groups, agents are refused. */
class ReviewerIdentitiesTest {

    static final ReviewerDirectory DIRECTORY = ReviewerDirectory.builder()
            .reviewer(Reviewer.human("alice", "Alice@Example.com", "dba"), "t1").agent("bot").build();

    static OidcSettings settings(String groupsClaim, Map<String, List<String>> mapping) {
        return new OidcSettings(URI.create("https://idp.example"), "cs", "secret", null, groupsClaim, "email", mapping, null, null,
                Duration.ofHours(1));
    }

    static JWTClaimsSet claims(Map<String, Object> c) {
        JWTClaimsSet.Builder b = new JWTClaimsSet.Builder().subject("00u-1");
        c.forEach(b::claim);
        return b.build();
    }

    @Test
    void eMailLinksTheDirectoryAndGroupsAreMapped() throws Exception {
        var ids = new ReviewerIdentities(settings("groups", Map.of("db-admins", List.of("dba", "security"))), DIRECTORY, id -> false);
        Reviewer r = ids.reviewer(claims(Map.of("email", "alice@example.com", "groups", List.of("db-admins", "everyone"))));
        assertThat(r.name()).isEqualTo("alice");
        assertThat(r.groups()).containsExactlyInAnyOrder("dba", "security");
        Reviewer stranger = ids.reviewer(claims(Map.of("email", "newcomer@example.com", "groups", "db-admins")));
        assertThat(stranger.name()).as("not in the directory: known by e-mail").isEqualTo("newcomer@example.com");
        assertThat(stranger.groups()).containsExactlyInAnyOrder("dba", "security");
    }

    @Test
    void aNestedGroupsClaimSuchAsKeycloaksRealmRolesIsReadAndAnEmptyMappingKeepsNames() throws Exception {
        var ids = new ReviewerIdentities(settings("realm_access.roles", Map.of()), DIRECTORY, id -> false);
        Reviewer r = ids.reviewer(claims(Map.of("email", "carol@example.com", "realm_access", Map.of("roles", List.of("dba", "offline_access")))));
        assertThat(r.groups()).containsExactlyInAnyOrder("dba", "offline_access");
    }

    @Test
    void agentsMissingEmailAndUnverifiedEmailAreRefused() {
        var ids = new ReviewerIdentities(settings("groups", Map.of()), DIRECTORY, id -> id.equals("ci-runner"));
        assertThatThrownBy(() -> ids.reviewer(claims(Map.of("email", "x@example.com", "preferred_username", "bot"))))
                .hasMessageContaining("'bot' is an agent identity");
        assertThatThrownBy(() -> ids.reviewer(new JWTClaimsSet.Builder().subject("ci-runner").claim("email", "ci@example.com").build()))
                .hasMessageContaining("'ci-runner' is an agent identity");
        assertThatThrownBy(() -> ids.reviewer(claims(Map.of("groups", List.of("dba")))))
                .hasMessageContaining("no 'email' claim").hasMessageContaining("email-claim");
        assertThatThrownBy(() -> ids.reviewer(claims(Map.of("email", "alice@example.com", "email_verified", false))))
                .hasMessageContaining("not verified");
    }
}
