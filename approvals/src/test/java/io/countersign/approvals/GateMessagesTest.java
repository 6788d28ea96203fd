package io.countersign.approvals;

import static io.countersign.approvals.ApprovalServiceTest.hold;
import static org.assertj.core.api.Assertions.assertThat;

import io.countersign.approvals.gate.GateMessages;
import io.countersign.approvals.policy.PolicyDecision;
import io.countersign.approvals.policy.Tier;
import io.countersign.wire.spi.BoundParameter;
import io.countersign.wire.spi.Protocol;
import io.countersign.wire.spi.ProtocolError;
import io.countersign.wire.spi.SessionInfo;
import io.countersign.wire.spi.StatementRequest;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class GateMessagesTest {

    static ApprovalRequest request(RequestState state) {
        Instant now = Instant.parse("2026-01-01T10:00:00Z");
        return new ApprovalRequest("apr-abc", 1, "bot", "olivia", "shop", "10.0.0.1:5", "SELECT email FROM customers",
                List.of(), List.of("SENSITIVE_READ: reads sensitive column public.customers.email"), List.of("public.customers.email"),
                Tier.HIGH, "sensitive", 1, "dba", Duration.ofHours(1), "SELECT email FROM customers", "h", now,
                now.plus(Duration.ofMinutes(15)), state, "", null, false, "local", List.of());
    }

    @Test
    void noticeAndErrorsNameTheRequestTheReasonAndWhatToDo() {
        ApprovalRequest r = request(RequestState.PENDING);
        assertThat(GateMessages.heldNotice(r, "http://cs.example:9090/console/")).isEqualTo(
                "held for approval: request apr-abc, SENSITIVE_READ: reads sensitive column public.customers.email,"
                        + " review at http://cs.example:9090/console/#apr-abc (needs 1 approval from dba, expires in 15 minutes)");
        ProtocolError denied = GateMessages.error(new Outcome.Denied(r, "alice", "no emails"));
        assertThat(denied.sqlState()).isEqualTo("42501");
        assertThat(denied.message()).isEqualTo("denied by alice: no emails (request apr-abc)");
        ProtocolError expired = GateMessages.error(new Outcome.Expired(r));
        assertThat(expired.sqlState()).isEqualTo("57014");
        assertThat(expired.message()).contains("within 15 minutes").contains("expired").contains("'dba'");
        assertThat(GateMessages.error(new Outcome.Withdrawn(r, "the client cancelled")).message()).contains("withdrawn");
        ProtocolError ticket = GateMessages.ticketIssued(r, null);
        assertThat(ticket.message()).contains("ticket mode").contains("apr-abc").contains("/console/#apr-abc");
        assertThat(ticket.detail()).contains("identical statement").contains("60 minutes");
        assertThat(GateMessages.policyDenied(new PolicyDecision.Deny("no-payroll", "payroll is off limits")).message())
                .isEqualTo("denied by policy rule 'no-payroll': payroll is off limits");
    }

    @Test
    void factsAndParametersComeFromTheWireRequest() {
        SessionInfo session = new SessionInfo("s1", Protocol.values()[0], "bot", "shop", new InetSocketAddress("127.0.0.1", 5000), Map.of());
        StatementRequest req = new StatementRequest(session, "SELECT email FROM customers WHERE id = $1 OR name = $2",
                List.of(new BoundParameter(23, false, "42".getBytes(), "42"), new BoundParameter(25, false, null, null)), true, false);
        assertThat(GateMessages.parameters(req)).containsExactly("42", null);
        var facts = GateMessages.facts(req, Set.of("bots"), "olivia", List.of(Facts.emailRead()));
        assertThat(facts.agent()).isEqualTo("bot");
        assertThat(facts.database()).isEqualTo("shop");
        assertThat(hold(1, Duration.ofMinutes(1)).quorum()).isEqualTo(1);
        // NULL and the text "null" bind differently
        assertThat(BindingHash.of("bot", "shop", req.sql(), java.util.Arrays.asList("42", null)))
                .isNotEqualTo(BindingHash.of("bot", "shop", req.sql(), List.of("42", "null")));
    }
}
