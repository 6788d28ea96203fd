package io.countersign.tracking;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** How a {@link ReportTable} is printed: an aligned text table for people, CSV or JSON for tools. */
public enum ReportFormat {
    TABLE, CSV, JSON;

    /** Parses {@code table}, {@code csv} or {@code json}, any case. */
    public static ReportFormat parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown report format '" + name + "'; use table, csv or json", e);
        }
    }

    public String render(ReportTable table) {
        return switch (this) {
            case TABLE -> aligned(table);
            case CSV -> csv(table);
            case JSON -> json(table);
        };
    }

    static String text(Object v) {
        if (v == null) {
            return "";
        }
        if (v instanceof Double d) {
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString(d.longValue()) : String.format(Locale.ROOT, "%.3f", d);
        }
        return v.toString();
    }

    private static boolean numeric(Object v) {
        return v instanceof Number;
    }

    private static String aligned(ReportTable t) {
        int n = t.columns().size();
        int[] width = new int[n];
        List<String[]> cells = new ArrayList<>();
        for (int c = 0; c < n; c++) {
            width[c] = t.columns().get(c).length();
        }
        for (List<Object> row : t.rows()) {
            String[] r = new String[n];
            for (int c = 0; c < n; c++) {
                r[c] = text(row.get(c)).replace('\n', ' ');
                width[c] = Math.max(width[c], r[c].length());
            }
            cells.add(r);
        }
        StringBuilder sb = new StringBuilder();
        for (int c = 0; c < n; c++) {
            pad(sb, t.columns().get(c), width[c], false, c == n - 1);
        }
        sb.append('\n');
        for (int c = 0; c < n; c++) {
            sb.append("-".repeat(width[c])).append(c == n - 1 ? "" : "  ");
        }
        sb.append('\n');
        for (int i = 0; i < cells.size(); i++) {
            for (int c = 0; c < n; c++) {
                pad(sb, cells.get(i)[c], width[c], numeric(t.rows().get(i).get(c)), c == n - 1);
            }
            sb.append('\n');
        }
        sb.append('(').append(t.rows().size()).append(t.rows().size() == 1 ? " row)" : " rows)").append('\n');
        return sb.toString();
    }

    private static void pad(StringBuilder sb, String s, int width, boolean right, boolean last) {
        if (right) {
            sb.append(" ".repeat(width - s.length())).append(s);
        } else {
            sb.append(s);
            if (!last) {
                sb.append(" ".repeat(width - s.length()));
            }
        }
        if (!last) {
            sb.append("  ");
        }
    }

    /** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF line ends. */
    private static String csv(ReportTable t) {
        StringBuilder sb = new StringBuilder();
        csvLine(sb, new ArrayList<>(t.columns()));
        for (List<Object> row : t.rows()) {
            csvLine(sb, row);
        }
        return sb.toString();
    }

    private static void csvLine(StringBuilder sb, List<?> values) {
        for (int i = 0; i < values.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            String s = text(values.get(i));
            if (s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0) {
                sb.append('"').append(s.replace("\"", "\"\"")).append('"');
            } else {
                sb.append(s);
            }
        }
        sb.append("\r\n");
    }

    /** An array of objects keyed by column name; numbers and booleans as JSON types, times as ISO-8601 strings. */
    private static String json(ReportTable t) {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = new JsonFactory().createGenerator(w)) {
            g.writeStartArray();
            for (List<Object> row : t.rows()) {
                g.writeStartObject();
                for (int c = 0; c < t.columns().size(); c++) {
                    g.writeFieldName(t.columns().get(c));
                    Object v = row.get(c);
                    switch (v) {
                        case null -> g.writeNull();
                        case Long l -> g.writeNumber(l);
                        case Integer i -> g.writeNumber(i);
                        case Double d -> g.writeNumber(d);
                        case Boolean b -> g.writeBoolean(b);
                        case Instant i -> g.writeString(i.toString());
                        default -> g.writeString(v.toString());
                    }
                }
                g.writeEndObject();
            }
            g.writeEndArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString() + "\n";
    }
}
