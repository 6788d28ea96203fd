package io.countersign.approvals;

import java.util.concurrent.CompletableFuture;

/**
 * A statement now waiting for reviewers. {@code outcome} completes once, on a service thread (never
 * the caller's), when the request is approved, denied, expires or is withdrawn. For a ticket-mode
 * agent ({@code request().ticket()}) the gate fails the statement at once naming the request id.
 */
public record HeldRequest(ApprovalRequest request, CompletableFuture<Outcome> outcome) {}
