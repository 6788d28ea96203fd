package io.countersign.analysis;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The corpus file format. An entry:
 * <pre>
 * --- id
 * SQL lines ...
 * =&gt; kind SELECT | tables public.a, public.b | columns public.a.x | cats EXPORT, SENSITIVE_READ | layer CALCITE
 * </pre>
 * {@code cats none} marks a benign statement that must not be held. Tables and columns are subsets the
 * analysis must contain; kinds are per statement, comma-separated.
 */
record Corpus(String id, Dialect dialect, String sql, List<String> kinds, Set<String> tables, Set<String> columns,
              Set<Category> categories, String layer) {

    boolean benign() {
        return categories.isEmpty();
    }

    @Override
    public String toString() {
        return dialect + " " + id;
    }

    static List<Corpus> load(String resource, Dialect dialect) {
        String text;
        try (InputStream in = Corpus.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("corpus resource " + resource + " is missing");
            }
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        List<Corpus> out = new ArrayList<>();
        String id = null;
        StringBuilder sql = new StringBuilder();
        int lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            if (id == null) {
                if (line.startsWith("--- ")) {
                    id = line.substring(4).trim();
                    sql.setLength(0);
                } else if (!line.isBlank() && !line.startsWith("#")) {
                    throw new IllegalStateException(resource + ":" + lineNo + ": expected '--- id', got: " + line);
                }
                continue;
            }
            if (line.startsWith("=> ")) {
                out.add(parse(id, dialect, sql.toString().strip(), line.substring(3), resource + ":" + lineNo));
                id = null;
                continue;
            }
            sql.append(line).append('\n');
        }
        if (id != null) {
            throw new IllegalStateException(resource + ": entry " + id + " has no '=>' expectation line");
        }
        return out;
    }

    private static Corpus parse(String id, Dialect dialect, String sql, String expect, String where) {
        List<String> kinds = List.of();
        Set<String> tables = new LinkedHashSet<>();
        Set<String> columns = new LinkedHashSet<>();
        Set<Category> cats = null;
        String layer = null;
        for (String part : expect.split("\\|")) {
            String p = part.strip();
            int sp = p.indexOf(' ');
            String key = sp < 0 ? p : p.substring(0, sp);
            String val = sp < 0 ? "" : p.substring(sp + 1).strip();
            switch (key) {
                case "kind" -> kinds = Arrays.stream(val.split(",")).map(String::strip).toList();
                case "tables" -> Arrays.stream(val.split(",")).map(String::strip).filter(s -> !s.isEmpty()).forEach(tables::add);
                case "columns" -> Arrays.stream(val.split(",")).map(String::strip).filter(s -> !s.isEmpty()).forEach(columns::add);
                case "cats" -> {
                    cats = EnumSet.noneOf(Category.class);
                    if (!val.equals("none")) {
                        for (String c : val.split(",")) {
                            cats.add(Category.valueOf(c.strip()));
                        }
                    }
                }
                case "layer" -> layer = val;
                default -> throw new IllegalStateException(where + ": unknown expectation key '" + key + "'");
            }
        }
        if (cats == null) {
            throw new IllegalStateException(where + ": entry " + id + " must say 'cats ...' (or 'cats none')");
        }
        return new Corpus(id, dialect, sql, kinds, tables, columns, cats, layer);
    }
}
