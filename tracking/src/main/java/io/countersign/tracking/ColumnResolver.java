package io.countersign.tracking;

import java.util.List;
import java.util.Optional;

/**
 * Maps what the wire says about a result column to the catalog's names. Called on a session's
 * event loop for every result: implementations answer from memory and never block (load the
 * catalog ahead of time, as {@link PgCatalogResolver} does).
 */
public interface ColumnResolver {

    /**
     * The table column behind a PostgreSQL RowDescription field, or empty when the field is not a
     * plain table column (an expression) or the table is unknown.
     */
    Optional<CatalogColumn> column(int tableOid, int attnum);

    /**
     * The primary key columns of {@code schema.table}, in key order; empty when the table has no
     * primary key or is unknown. Names as the catalog spells them.
     */
    List<String> primaryKey(String qualifiedTable);

    /**
     * The type of a column, PostgreSQL type OID, 0 when unknown. Used to normalise key values
     * written in SQL text (a uuid literal in upper case is the same key as one in lower case).
     */
    default int typeOf(String qualifiedTable, String column) {
        return 0;
    }

    /**
     * Something that stays the same object exactly as long as this resolver's answers stay the same
     * (the catalog snapshot it reads), or {@code null} when the resolver cannot tell: then what is
     * derived from its answers is not kept from one statement to the next.
     */
    default Object snapshot() {
        return null;
    }

    /** A column found in the catalog, with its type (PostgreSQL type OID; 0 when not known). */
    record CatalogColumn(ColumnRef ref, int typeOid) {}

    /** Knows no table: result columns stay unmapped and no keys are extracted. */
    ColumnResolver NONE = new ColumnResolver() {
        @Override
        public Optional<CatalogColumn> column(int tableOid, int attnum) {
            return Optional.empty();
        }

        @Override
        public List<String> primaryKey(String qualifiedTable) {
            return List.of();
        }
    };
}
