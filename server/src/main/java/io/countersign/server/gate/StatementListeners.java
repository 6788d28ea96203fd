package io.countersign.server.gate;

import io.countersign.wire.spi.StatementListener;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Several statement sinks (the log today; tracking and the audit journal later) behind the one
 * {@link StatementListener} a listener takes. The client's answer waits for every sink that asks
 * it to (a non-null stage), and for none otherwise.
 */
public final class StatementListeners {

    private StatementListeners() {}

    public static StatementListener all(List<StatementListener> sinks) {
        List<StatementListener> copy = List.copyOf(sinks);
        if (copy.size() == 1) {
            return copy.getFirst();
        }
        return completion -> {
            List<CompletableFuture<Void>> pending = null;
            for (StatementListener sink : copy) {
                CompletionStage<Void> stage = sink.onCompleted(completion);
                if (stage != null) {
                    if (pending == null) pending = new ArrayList<>(2);
                    pending.add(stage.toCompletableFuture());
                }
            }
            if (pending == null) {
                return null;
            }
            return pending.size() == 1 ? pending.getFirst() : CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new));
        };
    }

    public static StatementListener all(StatementListener... sinks) {
        return all(List.of(sinks));
    }
}
