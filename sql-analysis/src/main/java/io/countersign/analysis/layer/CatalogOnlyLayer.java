package io.countersign.analysis.layer;

import io.countersign.analysis.Dialect;
import io.countersign.analysis.catalog.Catalog;
import io.countersign.analysis.catalog.Table;
import io.countersign.analysis.lexer.LexicalFacts;
import io.countersign.analysis.lexer.QualifiedName;
import java.util.Locale;

/**
 * Layer 3: a query whose every relation (by the lexer's extraction) is a system relation and whose every
 * function is a known catalog or pure built-in reads no agent data, even when Calcite cannot parse it.
 */
public final class CatalogOnlyLayer {

    private CatalogOnlyLayer() {}

    /** Fills the draft and returns true when the statement is a catalog read; leaves the draft alone otherwise. */
    public static boolean settle(LexicalFacts facts, Dialect dialect, Catalog catalog, Draft d) {
        return settle(facts, null, dialect, catalog, d);
    }

    /**
     * @param tokens when given, a safety net: any identifier token that names a user relation keeps the
     *               statement out of this layer, even if the lexer did not see it in a relation position
     */
    public static boolean settle(LexicalFacts facts, java.util.List<io.countersign.analysis.lexer.Token> tokens,
                                 Dialect dialect, Catalog catalog, Draft d) {
        if (facts.writesInside() || facts.relations().isEmpty()) {
            return false;
        }
        if (tokens != null) {
            for (var t : tokens) {
                if (t.isIdentifier() && catalog.hasRelationNamed(t.value())) {
                    return false;
                }
                if (t.type() == io.countersign.analysis.lexer.TokenType.STRING && catalog.hasRelationNamed(lastPart(t.value()))) {
                    return false; // 'customers'::regclass, query_to_xml('select ... customers')
                }
            }
        }
        java.util.List<String> tables = new java.util.ArrayList<>();
        for (QualifiedName q : facts.relations()) {
            String system = systemName(q, dialect, catalog);
            if (system == null) {
                return false;
            }
            tables.add(system);
        }
        for (QualifiedName f : facts.functions()) {
            String name = f.last().toLowerCase(Locale.ROOT);
            String schema = f.schema() == null ? null : f.schema().toLowerCase(Locale.ROOT);
            if (!FunctionRules.SAFE_BUILTINS.contains(name)) {
                return false;
            }
            if (schema != null && !catalog.isSystemSchema(schema)) {
                return false;
            }
            if (schema == null && catalog.hasUserFunction(name)) {
                return false; // a user function could shadow the built-in through search_path
            }
        }
        d.tablesRead.addAll(tables);
        for (QualifiedName f : facts.functions()) {
            d.functions.add(f.last().toLowerCase(Locale.ROOT));
        }
        return true;
    }

    private static String lastPart(String s) {
        int dot = s.lastIndexOf('.');
        return (dot < 0 ? s : s.substring(dot + 1)).trim();
    }

    private static String systemName(QualifiedName q, Dialect dialect, Catalog catalog) {
        String name = q.last().toLowerCase(Locale.ROOT);
        if (FunctionRules.SENSITIVE_SYSTEM_RELATIONS.contains(name)) {
            return null;
        }
        if (q.parts().size() > 2) {
            return null;
        }
        if (q.schema() != null) {
            return catalog.isSystemSchema(q.schema()) ? q.schema().toLowerCase(Locale.ROOT) + "." + name : null;
        }
        Table user = catalog.resolve(null, q.last());
        if (user != null) {
            return catalog.isSystemSchema(user.schema()) ? user.qualifiedName() : null;
        }
        if (dialect == Dialect.POSTGRESQL && FunctionRules.looksLikePgSystemRelation(name) && !catalog.hasRelationNamed(name)) {
            // pg_catalog is searched first unless the search path says otherwise; a user relation with the
            // same name would have resolved above
            return "pg_catalog." + name;
        }
        if (dialect == Dialect.MYSQL && catalog.isSystemSchema(catalog.database())) {
            return catalog.database() + "." + name;
        }
        return null;
    }
}
