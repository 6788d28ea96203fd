package io.countersign.analysis.catalog;

import io.countersign.analysis.Dialect;
import io.countersign.analysis.SqlAnalyzer;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/** Loads a catalog snapshot; blocking. Use {@link #loadAsync} to run it off the event loop. */
@FunctionalInterface
public interface CatalogLoader {

    Catalog load() throws SQLException;

    default CompletableFuture<Catalog> loadAsync(Executor executor) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return load();
            } catch (SQLException e) {
                throw new CompletionException(e);
            }
        }, executor);
    }

    /** A loader that opens a connection from the supplier, reads the catalog for the dialect and closes it. */
    static CatalogLoader of(Dialect dialect, SqlAnalyzer.ConnectionSupplier connections) {
        return () -> {
            try (Connection c = connections.get()) {
                return dialect == Dialect.POSTGRESQL ? PostgresCatalogLoader.load(c) : MySqlCatalogLoader.load(c);
            }
        };
    }
}
