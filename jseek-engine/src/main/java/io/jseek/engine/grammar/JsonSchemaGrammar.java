package io.jseek.engine.grammar;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * JSON Schema to grammar text ({@link Gbnf}), so that sampling can only produce JSON that validates. Supported:
 * {@code type} (one or a list), {@code properties} with {@code required} (properties in the schema's order, optional
 * ones may be left out), {@code additionalProperties} (false, or a schema for extra members; with declared properties
 * and no {@code additionalProperties} the object is closed: a subset of what the schema allows, so outputs still
 * validate), {@code items} / {@code prefixItems} with {@code minItems} / {@code maxItems}, {@code enum}, {@code const},
 * strings with {@code minLength} / {@code maxLength} and the formats {@code date}, {@code time}, {@code date-time},
 * {@code uuid}; integers with {@code minimum} / {@code maximum} / {@code exclusiveMinimum} / {@code exclusiveMaximum}
 * (exact digit grammars) and numbers with the same bounds (an integer part in range, a fraction where it cannot
 * leave it); {@code anyOf} / {@code oneOf} (as alternatives);
 * {@code allOf} of one schema; {@code $ref} into {@code $defs} / {@code definitions} (recursion allowed); {@code {}}
 * and {@code true} (any JSON value). A keyword that would constrain the output in a way the grammar cannot
 * ({@code pattern}, {@code not}, {@code multipleOf}, number bounds with no integer between them, …) is an
 * IllegalArgumentException naming it, never silently ignored. Annotations ({@code title}, {@code description},
 * {@code default}, {@code examples}, {@code $schema}, {@code strict}, …) are ignored. Whitespace between tokens is
 * limited to a few characters, as llama.cpp's JSON grammars do.
 */
public final class JsonSchemaGrammar {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Set<String> IGNORED = Set.of("title", "description", "default", "examples", "$schema", "$id",
            "$comment", "strict", "readOnly", "writeOnly", "deprecated", "$defs", "definitions", "format", "type",
            "properties", "required", "additionalProperties", "items", "prefixItems", "minItems", "maxItems", "enum",
            "const", "minLength", "maxLength", "anyOf", "oneOf", "allOf", "$ref", "minimum", "maximum",
            "exclusiveMinimum", "exclusiveMaximum", "contentMediaType", "contentEncoding", "name");

    /** The schema being compiled (what its $refs point into). */
    private JsonNode root;
    private final Map<String, String> rules = new LinkedHashMap<>();
    private final Map<JsonNode, Map<String, String>> refRules = new java.util.IdentityHashMap<>();
    private int next;

    private JsonSchemaGrammar() {
    }

    /**
     * An empty grammar to compile several schemas into ({@link #add}), sharing the common rules (a tool call's
     * grammar has one schema per function).
     */
    public static JsonSchemaGrammar create() {
        return new JsonSchemaGrammar();
    }

    /** Compiles {@code schema} (JSON text); returns the name of the rule matching its values. */
    public String add(String schema, String hint) {
        try {
            return add(JSON.readTree(schema), hint);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("the JSON schema is not valid JSON: " + e.getOriginalMessage());
        }
    }

    /** Compiles {@code schema}; returns the name of the rule matching its values. */
    public String add(JsonNode schema, String hint) {
        root = schema;
        return rule(hint, value(schema, hint));
    }

    /** The grammar text: {@code root ::= rootBody}, then every rule compiled so far. */
    public String gbnf(String rootBody, Map<String, String> more) {
        common();
        StringBuilder b = new StringBuilder("root ::= ").append(rootBody).append('\n');
        more.forEach((n, r) -> b.append(n).append(" ::= ").append(r).append('\n'));
        rules.forEach((n, r) -> b.append(n).append(" ::= ").append(r).append('\n'));
        return b.toString();
    }

    /** The grammar text for {@code schema} (JSON text). */
    public static String gbnf(String schema) {
        try {
            return gbnf(JSON.readTree(schema));
        } catch (JacksonException e) {
            throw new IllegalArgumentException("the JSON schema is not valid JSON: " + e.getOriginalMessage());
        }
    }

    /** The grammar text for {@code schema}. */
    public static String gbnf(JsonNode schema) {
        JsonSchemaGrammar g = new JsonSchemaGrammar();
        return g.gbnf(g.add(schema, "value"), Map.of());
    }

    /** The constraint for {@code schema} (JSON text). */
    public static GrammarConstraint constraint(String schema) {
        return GrammarConstraint.gbnf(gbnf(schema));
    }

    private void common() {
        if (rules.containsKey("ws")) {
            return;
        }
        rules.put("ws", "[ \\t\\n]{0,6}");
        rules.put("char", "[^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})");
        rules.put("string", "\"\\\"\" char* \"\\\"\"");
        rules.put("integer", "\"-\"? (\"0\" | [1-9] [0-9]{0,15})");
        rules.put("number", "\"-\"? (\"0\" | [1-9] [0-9]{0,15}) (\".\" [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?");
        rules.put("boolean", "\"true\" | \"false\"");
        rules.put("null", "\"null\"");
        rules.put("value", "object | array | string | number | boolean | null");
        rules.put("object", "\"{\" ws (string ws \":\" ws value ws (\",\" ws string ws \":\" ws value ws)*)? \"}\"");
        rules.put("array", "\"[\" ws (value ws (\",\" ws value ws)*)? \"]\"");
    }

    /** A new rule named after {@code hint}; returns its name. */
    private String rule(String hint, String body) {
        String name = hint.replaceAll("[^A-Za-z0-9-]", "-") + "-" + next++;
        rules.put(name, body);
        return name;
    }

    /** The grammar expression for a value of {@code s}. */
    private String value(JsonNode s, String hint) {
        if (s == null || s.isBoolean() && s.asBoolean() || s.isObject() && s.isEmpty()) {
            return "value";
        }
        if (s.isBoolean()) {
            throw new IllegalArgumentException("the schema false allows no value");
        }
        if (!s.isObject()) {
            throw new IllegalArgumentException("a schema must be an object or a boolean, got " + s);
        }
        for (String key : s.propertyNames()) {
            if (!IGNORED.contains(key)) {
                throw new IllegalArgumentException("JSON schema keyword \"" + key + "\" is not supported by the grammar"
                        + " (the output could not be held to it)");
            }
        }
        if (s.has("$ref")) {
            return ref(s.get("$ref").asString());
        }
        if (s.has("const")) {
            return literal(JSON.writeValueAsString(s.get("const")));
        }
        if (s.has("enum")) {
            List<String> alts = new ArrayList<>();
            for (JsonNode v : s.get("enum")) {
                alts.add(literal(JSON.writeValueAsString(v)));
            }
            if (alts.isEmpty()) {
                throw new IllegalArgumentException("enum is empty");
            }
            return "(" + String.join(" | ", alts) + ")";
        }
        for (String k : new String[] {"anyOf", "oneOf"}) {
            if (s.has(k)) {
                List<String> alts = new ArrayList<>();
                for (JsonNode sub : s.get(k)) {
                    alts.add(value(sub, hint));
                }
                return "(" + String.join(" | ", alts) + ")";
            }
        }
        if (s.has("allOf")) {
            if (s.get("allOf").size() != 1) {
                throw new IllegalArgumentException("allOf with more than one schema is not supported by the grammar");
            }
            return value(s.get("allOf").get(0), hint);
        }
        JsonNode type = s.get("type");
        if (type == null) {
            if (s.has("properties") || s.has("additionalProperties")) {
                return object(s, hint);
            }
            if (s.has("items") || s.has("prefixItems")) {
                return array(s, hint);
            }
            return "value";
        }
        if (type.isArray()) {
            List<String> alts = new ArrayList<>();
            for (JsonNode t : type) {
                alts.add(typed(t.asString(), s, hint));
            }
            return "(" + String.join(" | ", alts) + ")";
        }
        return typed(type.asString(), s, hint);
    }

    private String typed(String type, JsonNode s, String hint) {
        return switch (type) {
            case "object" -> object(s, hint);
            case "array" -> array(s, hint);
            case "string" -> string(s, hint);
            case "integer" -> integer(s, hint);
            case "number" -> number(s);
            case "boolean" -> "boolean";
            case "null" -> "null";
            default -> throw new IllegalArgumentException("unknown JSON schema type \"" + type + "\"");
        };
    }

    private String ref(String ref) {
        Map<String, String> known = refRules.computeIfAbsent(root, k -> new HashMap<>());
        String name = known.get(ref);
        if (name != null) {
            return name;
        }
        JsonNode target = null;
        if (ref.equals("#")) {
            target = root;
        } else if (ref.startsWith("#/")) {
            target = root.at(ref.substring(1));
            if (target.isMissingNode()) {
                target = null;
            }
        }
        if (target == null) {
            throw new IllegalArgumentException("$ref " + ref + " does not point into this schema");
        }
        name = rule("ref-" + ref.substring(ref.lastIndexOf('/') + 1), "");
        known.put(ref, name);
        rules.put(name, value(target, name));
        return name;
    }

    private String object(JsonNode s, String hint) {
        JsonNode props = s.get("properties");
        JsonNode extra = s.get("additionalProperties");
        List<String> names = new ArrayList<>();
        if (props != null) {
            names.addAll(props.propertyNames());
        }
        Set<String> required = new java.util.HashSet<>();
        if (s.has("required")) {
            for (JsonNode r : s.get("required")) {
                if (!names.contains(r.asString())) {
                    throw new IllegalArgumentException("required property \"" + r.asString() + "\" is not in properties");
                }
                required.add(r.asString());
            }
        }
        String extraValue = null;
        if (extra != null && !(extra.isBoolean() && !extra.asBoolean())) {
            extraValue = value(extra, hint + "-extra");
        } else if (extra == null && names.isEmpty()) {
            extraValue = "value";
        }
        List<String> kv = new ArrayList<>();
        for (String n : names) {
            kv.add(literal(JSON.writeValueAsString(n)) + " ws \":\" ws " + value(props.get(n), hint + "-" + n));
        }
        // members(i, first): properties from i on, 'first' when nothing is written yet (no comma before the next).
        String[][] memo = new String[names.size() + 1][2];
        String list = members(0, true, names, required, kv, extraValue, memo, hint);
        return rule(hint, "\"{\" ws " + list + " \"}\"");
    }

    private String members(int i, boolean first, List<String> names, Set<String> required, List<String> kv,
                           String extraValue, String[][] memo, String hint) {
        int f = first ? 1 : 0;
        if (memo[i][f] != null) {
            return memo[i][f];
        }
        String comma = first ? "" : "\",\" ws ";
        String body;
        if (i == names.size()) {
            if (extraValue == null) {
                body = "\"\"";
            } else {
                String member = "string ws \":\" ws " + extraValue + " ws";
                body = first ? "(" + member + " (\",\" ws " + member + ")*)?" : "(\",\" ws " + member + ")*";
            }
        } else {
            String take = comma + kv.get(i) + " ws " + members(i + 1, false, names, required, kv, extraValue, memo, hint);
            body = required.contains(names.get(i)) ? take
                    : take + " | " + members(i + 1, first, names, required, kv, extraValue, memo, hint);
        }
        String name = rule(hint + "-m" + i + (first ? "f" : ""), body);
        memo[i][f] = name;
        return name;
    }

    private String array(JsonNode s, String hint) {
        int min = s.has("minItems") ? s.get("minItems").asInt() : 0;
        int max = s.has("maxItems") ? s.get("maxItems").asInt() : -1;
        if (max >= 0 && max < min) {
            throw new IllegalArgumentException("maxItems is below minItems");
        }
        List<String> prefix = new ArrayList<>();
        if (s.has("prefixItems")) {
            for (JsonNode p : s.get("prefixItems")) {
                prefix.add(value(p, hint + "-item"));
            }
        }
        JsonNode items = s.get("items");
        String item = items == null || items.isBoolean() && items.asBoolean() ? "value"
                : items.isBoolean() ? null : value(items, hint + "-item");
        if (item == null && min > prefix.size()) {
            throw new IllegalArgumentException("minItems needs more items than prefixItems allows");
        }
        if (prefix.isEmpty() && item == null || max == 0) {
            return rule(hint, "\"[\" ws \"]\"");
        }
        String list = items(0, min, max, prefix, item);
        return rule(hint, "\"[\" ws " + (min == 0 ? "(" + list + ")?" : list) + " \"]\"");
    }

    /** Element i of an array and those after it: the prefix items, then {@code item} repeated, min to max in all. */
    private static String items(int i, int min, int max, List<String> prefix, String item) {
        String element = (i < prefix.size() ? prefix.get(i) : item) + " ws";
        boolean more = (max < 0 || i + 1 < max) && (i + 1 < prefix.size() || item != null);
        if (!more) {
            return element;
        }
        if (i >= prefix.size() && i + 1 >= min && max < 0) {
            return element + " (\",\" ws " + item + " ws)*";
        }
        String rest = "\",\" ws " + items(i + 1, min, max, prefix, item);
        return i + 1 < min ? element + " " + rest : element + " (" + rest + ")?";
    }

    private String string(JsonNode s, String hint) {
        if (s.has("format")) {
            String f = s.get("format").asString();
            String date = "[0-9]{4} \"-\" (\"0\" [1-9] | \"1\" [0-2]) \"-\" (\"0\" [1-9] | [12] [0-9] | \"3\" [01])";
            String time = "([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] (\".\" [0-9]{1,6})?"
                    + " (\"Z\" | [+-] ([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9])";
            String body = switch (f) {
                case "date" -> date;
                case "time" -> time;
                case "date-time" -> date + " \"T\" " + time;
                case "uuid" -> "[0-9a-f]{8} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{12}";
                default -> null;
            };
            if (body != null) {
                return rule(hint + "-" + f, "\"\\\"\" " + body + " \"\\\"\"");
            }
            // Other formats (email, uri, …) are annotations by default in JSON Schema 2020-12: any string.
        }
        if (s.has("minLength") || s.has("maxLength")) {
            // JSON Schema counts code points, JavaScript validators (zod) UTF-16 units: characters of the Basic
            // Multilingual Plane count the same in both, so a length-limited string keeps to them.
            rules.putIfAbsent("char-bmp", "[^\"\\\\\\x00-\\x1F\\U00010000-\\U0010FFFF] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})");
            int min = s.has("minLength") ? s.get("minLength").asInt() : 0;
            String max = s.has("maxLength") ? String.valueOf(s.get("maxLength").asInt()) : "";
            return rule(hint, "\"\\\"\" char-bmp{" + min + "," + max + "} \"\\\"\"");
        }
        return "string";
    }

    /**
     * A number, with bounds as an integer part in range and a fraction where it cannot leave the range: whole
     * numbers from the smallest to the largest integer allowed; a fraction after a non-negative integer part below the
     * largest, and after a negative one above the smallest (−k.f lies between −k−1 and −k). No exponent when bounded.
     * Bounds with no integer between them are refused.
     */
    private String number(JsonNode s) {
        if (!s.has("minimum") && !s.has("maximum") && !s.has("exclusiveMinimum") && !s.has("exclusiveMaximum")) {
            return "number";
        }
        BigInteger[] b = integerBounds(s);
        BigInteger lo = b[0];
        BigInteger hi = b[1];
        if (lo != null && hi != null && lo.compareTo(hi) > 0) {
            throw new IllegalArgumentException("number bounds with no integer between them are not supported by the grammar");
        }
        String fraction = " \".\" [0-9]{1,15}";
        List<String> alts = new ArrayList<>();
        alts.add("(" + IntegerRange.gbnf(lo, hi) + ")");
        // Non-negative integer part I with a fraction: max(lo, 0) ≤ I ≤ hi − 1.
        BigInteger posLo = lo == null ? BigInteger.ZERO : lo.max(BigInteger.ZERO);
        BigInteger posHi = hi == null ? null : hi.subtract(BigInteger.ONE);
        if (posHi == null || posLo.compareTo(posHi) <= 0) {
            alts.add("(" + IntegerRange.gbnf(posLo, posHi) + ")" + fraction);
        }
        // Negative part −k.f with k from max(0, −hi) to −lo − 1 (k = 0 only when 0 ≤ hi).
        BigInteger kLo = hi == null ? BigInteger.ZERO : hi.negate().max(BigInteger.ZERO);
        BigInteger kHi = lo == null ? null : lo.negate().subtract(BigInteger.ONE);
        if (kHi == null || kLo.compareTo(kHi) <= 0) {
            alts.add("\"-\" (" + IntegerRange.gbnf(kLo, kHi) + ")" + fraction);
        }
        return "(" + String.join(" | ", alts) + ")";
    }

    private String integer(JsonNode s, String hint) {
        BigInteger[] b = integerBounds(s);
        BigInteger lo = b[0];
        BigInteger hi = b[1];
        if (lo == null && hi == null) {
            return "integer";
        }
        if (lo != null && hi != null && lo.compareTo(hi) > 0) {
            throw new IllegalArgumentException("no integer lies between the bounds");
        }
        return rule(hint + "-int", IntegerRange.gbnf(lo, hi));
    }

    /** The smallest and largest integers the schema's bounds allow (null: unbounded on that side). */
    private static BigInteger[] integerBounds(JsonNode s) {
        BigInteger lo = null;
        BigInteger hi = null;
        if (s.has("minimum")) {
            lo = ceil(s.get("minimum"));
        }
        if (s.has("exclusiveMinimum")) {
            BigInteger x = floor(s.get("exclusiveMinimum")).add(BigInteger.ONE);
            lo = lo == null ? x : lo.max(x);
        }
        if (s.has("maximum")) {
            hi = floor(s.get("maximum"));
        }
        if (s.has("exclusiveMaximum")) {
            BigInteger x = ceil(s.get("exclusiveMaximum")).subtract(BigInteger.ONE);
            hi = hi == null ? x : hi.min(x);
        }
        return new BigInteger[] {lo, hi};
    }

    private static BigInteger ceil(JsonNode n) {
        return n.decimalValue().setScale(0, java.math.RoundingMode.CEILING).toBigIntegerExact();
    }

    private static BigInteger floor(JsonNode n) {
        return n.decimalValue().setScale(0, java.math.RoundingMode.FLOOR).toBigIntegerExact();
    }

    /** A grammar literal matching {@code text} exactly. */
    public static String literal(String text) {
        StringBuilder b = new StringBuilder("\"");
        text.codePoints().forEach(c -> {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\x%02X", c));
                    } else {
                        b.appendCodePoint(c);
                    }
                }
            }
        });
        return b.append('"').toString();
    }
}
