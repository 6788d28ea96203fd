package io.countersign.analysis.catalog;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The catalog of one backend database: loaded on the given executor, refreshed on a timer and after DDL
 * ({@link #markStale()}). Concurrent refresh requests share one load. {@link #current()} never blocks.
 */
public final class CatalogCache implements AutoCloseable {

    private final CatalogLoader loader;
    private final Executor executor;
    private final AtomicReference<Catalog> current = new AtomicReference<>();
    private final AtomicReference<CompletableFuture<Catalog>> inFlight = new AtomicReference<>();
    private final AtomicBoolean stale = new AtomicBoolean(true);
    private final ScheduledFuture<?> timer;
    private volatile Throwable lastFailure;

    /**
     * @param loader       reads the catalog (blocking)
     * @param executor     where loads run (never an event loop)
     * @param scheduler    drives the periodic refresh; may be null for no timer
     * @param refreshEvery period of the timer
     */
    public CatalogCache(CatalogLoader loader, Executor executor, ScheduledExecutorService scheduler, Duration refreshEvery) {
        this.loader = loader;
        this.executor = executor;
        this.timer = scheduler == null ? null : scheduler.scheduleWithFixedDelay(() -> refresh(),
                refreshEvery.toMillis(), refreshEvery.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The latest loaded snapshot, or null before the first load completed. */
    public Catalog current() {
        return current.get();
    }

    public boolean isStale() {
        return stale.get();
    }

    /** The last load failure, or null; a failed refresh keeps the previous snapshot. */
    public Throwable lastFailure() {
        return lastFailure;
    }

    /** The current snapshot when fresh and no reload is running, else the (running or new) reload. */
    public CompletableFuture<Catalog> get() {
        CompletableFuture<Catalog> running = inFlight.get();
        if (running != null) {
            return running;
        }
        Catalog c = current.get();
        if (c != null && !stale.get()) {
            return CompletableFuture.completedFuture(c);
        }
        return refresh();
    }

    /** DDL passed through: the next {@link #get()} reloads, and a reload starts now. */
    public void markStale() {
        stale.set(true);
        refresh();
    }

    /** Starts a load unless one is running; returns the running or new load. */
    public CompletableFuture<Catalog> refresh() {
        while (true) {
            CompletableFuture<Catalog> running = inFlight.get();
            if (running != null) {
                return running;
            }
            CompletableFuture<Catalog> f = new CompletableFuture<>();
            if (!inFlight.compareAndSet(null, f)) {
                continue;
            }
            stale.set(false);
            loader.loadAsync(executor).whenComplete((catalog, error) -> {
                inFlight.set(null);
                if (error != null) {
                    lastFailure = error;
                    stale.set(true);
                    f.completeExceptionally(error);
                } else {
                    lastFailure = null;
                    current.set(catalog);
                    f.complete(catalog);
                }
            });
            return f;
        }
    }

    @Override
    public void close() {
        if (timer != null) {
            timer.cancel(false);
        }
    }
}
