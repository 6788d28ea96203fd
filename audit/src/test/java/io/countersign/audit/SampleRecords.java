package io.countersign.audit;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Records with every field set (and some deliberately null) for round-trip tests. */
final class SampleRecords {
    private SampleRecords() {}

    static StatementRecord statement(int i, Instant at) {
        return StatementRecord.builder()
                .started(at)
                .ended(at.plusNanos(1_234_567_891L))
                .agent("agent-" + (i % 3))
                .owner("owner@example.com")
                .sessionId("s-" + i)
                .clientAddress("10.0.0." + (i % 250) + ":5" + i)
                .protocol(i % 2 == 0 ? Protocol.PG : Protocol.MYSQL)
                .database("shop")
                .sql("SELECT id, email FROM customers WHERE id = $1 -- " + i)
                .fingerprint("fp-" + (i % 5))
                .parameters(Arrays.asList("4" + i, null, "<redacted>"))
                .statementKinds(List.of("SELECT"))
                .categories(List.of(new CategoryReason("pii-read", "reads customers.email"), new CategoryReason("bulk", null)))
                .tablesRead(List.of("public.customers"))
                .tablesWritten(i % 4 == 0 ? List.of("public.audit_copy") : List.of())
                .columnsRead(List.of("public.customers.id", "public.customers.email"))
                .columnsWritten(List.of())
                .decision(switch (i % 5) {
                    case 0 -> Decision.allowedByRule("read-only-default");
                    case 1 -> Decision.approved("alice@example.com", "req-" + i);
                    case 2 -> Decision.denied("no-ddl", "DDL is not allowed for agents");
                    case 3 -> Decision.timedOut("req-" + i);
                    default -> Decision.withdrawn("req-" + i, "agent disconnected");
                })
                .rowsReturned(i % 3 == 0 ? null : (long) i * 10)
                .rowsAffected(i % 4 == 0 ? 7L : null)
                .bytesSent(1000L + i)
                .errorCode(i % 6 == 0 ? "42P01" : null)
                .errorMessage(i % 6 == 0 ? "relation \"nope\" does not exist" : null)
                .duration(Duration.ofNanos(987_654_321L + i))
                .resultColumns(List.of("public.customers.id", "public.customers.email"))
                .rowKeys(List.of("public.customers:id=" + i, "public.customers:id=" + (i + 1)))
                .rowKeysCapped(i % 2 == 1)
                .settledBy(i % 2 == 0 ? "rules" : "explain")
                .runAsRole(i % 5 == 0 ? "ledger_admin" : null)
                .build();
    }

    static ApprovalRecord approval(int i, Instant at) {
        ApprovalRecord.Event[] events = ApprovalRecord.Event.values();
        ApprovalRecord.Channel[] channels = ApprovalRecord.Channel.values();
        return new ApprovalRecord(at, events[i % events.length], "req-" + i, i % 3 == 0 ? null : "bob@example.com",
                channels[i % channels.length], i % 2 == 0 ? "approve" : "deny", "looks fine " + i, "tier-" + (i % 2),
                "agent-" + i, "owner@example.com", "DELETE FROM orders WHERE id = " + i, i % 4 == 1 ? "oidc" : null);
    }

    static AdminRecord admin(int i, Instant at) {
        AdminRecord.Event[] events = AdminRecord.Event.values();
        return new AdminRecord(at, events[i % events.length], "ops", "detail " + i, i % 2 == 0 ? "sha256:abc" + i : null,
                i % 2 == 0 ? List.of(new AdminRecord.DeletedFile("statements/dt=2020-01-01/part-x.parquet", 1, 9, 5, "ff" + i)) : List.of());
    }

    /** A mix of all three kinds, in the order they would be appended. */
    static List<AuditRecord> mixed(int n, Instant start) {
        List<AuditRecord> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Instant at = start.plusMillis(i * 7L).plusNanos(i * 1000L + 123);
            out.add(switch (i % 7) {
                case 3, 5 -> approval(i, at);
                case 6 -> admin(i, at);
                default -> statement(i, at);
            });
        }
        return out;
    }
}
