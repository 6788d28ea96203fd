package io.countersign.approvals.store;

import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Grant;
import io.countersign.approvals.RequestState;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Durable requests, decisions and grants. Updates are compare-and-set on the request's version so
 * that two reviewers (or two replicas) deciding at once cannot both win.
 */
public interface ApprovalStore extends AutoCloseable {

    void insert(ApprovalRequest request);

    Optional<ApprovalRequest> find(String id);

    /** Newest first. Any filter may be null. */
    List<ApprovalRequest> list(RequestState state, String agent, int limit);

    /**
     * Stores {@code updated} if the stored version is still {@code updated.version() - 1}, adding
     * its decisions not yet stored. Returns false when someone else changed the request first.
     */
    boolean update(ApprovalRequest updated);

    /** An approved, not yet used ticket-mode request with this binding hash that is still valid at {@code now}. */
    Optional<ApprovalRequest> findUsableTicket(String agent, String bindingHash, Instant now);

    /** Pending requests whose expiry is at or before {@code now} (of any replica). */
    List<ApprovalRequest> overdue(Instant now, int limit);

    /**
     * Marks requests pending at startup ABANDONED (their connections are gone); only those of
     * {@code replica} when the store is shared. Returns how many.
     */
    int abandonPending(String replica, Instant now);

    void insertGrant(Grant grant);

    Optional<Grant> findGrant(String id);

    /** Newest first; with {@code activeAt} non-null only grants active then. */
    List<Grant> grants(Instant activeAt, int limit);

    /** Stores the revocation if the grant is not revoked yet; false otherwise. */
    boolean revokeGrant(Grant revoked);

    Optional<Grant> findActiveGrant(String agent, String database, String fingerprint, Instant now);

    /**
     * Calls {@code requestId} consumers when another process changed a request (shared stores
     * only); local stores never call it.
     */
    default void onRemoteChange(Consumer<String> listener) {}

    /** Calls {@code listener} when another process created or revoked a grant (shared stores only). */
    default void onRemoteGrantChange(Runnable listener) {}

    /** True when other processes may change the store (then waiting requests are re-read periodically). */
    default boolean shared() {
        return false;
    }

    @Override
    void close();
}
