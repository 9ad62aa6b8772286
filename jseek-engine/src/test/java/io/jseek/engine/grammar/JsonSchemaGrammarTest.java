package io.jseek.engine.grammar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.jseek.engine.ContextPlan;
import io.jseek.engine.Generation;
import io.jseek.engine.GenerationListener;
import io.jseek.engine.GenerationOptions;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.OutputConstraint;
import io.jseek.engine.SamplerConfig;
import io.jseek.model.CacheType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * JSON Schema grammars against an independent validator (networknt json-schema-validator, draft 2020-12): random
 * schemas, answered by a random-weight test model whose raw output is noise, so that only the grammar can make
 * the answer valid.
 */
class JsonSchemaGrammarTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final SchemaRegistry VALIDATORS = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static LoadedModel model;

    @BeforeAll
    static void load() {
        model = LoadedModel.open(DATA.resolve("r1llama-f32.gguf"), 2);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** The model's answer to a raw prompt under {@code constraint}, sampled at temperature 1 with {@code seed}. */
    private static Generation answer(OutputConstraint constraint, long seed) {
        SamplerConfig sampler = new SamplerConfig(1f, 0, 1f, 0f, 1f, 0f, 0f, 64, seed);
        GenerationOptions options = new GenerationOptions(600, sampler, List.of(), false, -1, constraint);
        return model.complete("Answer in JSON:", new ContextPlan(1024, CacheType.F32), options, new GenerationListener() { });
    }

    private static List<String> errors(JsonNode schema, String output) {
        Schema s = VALIDATORS.getSchema(JSON.writeValueAsString(schema));
        JsonNode value = JSON.readTree(output);
        return s.validate(value).stream().map(Object::toString).toList();
    }

    @Test
    void twoHundredRandomSchemasGetValidAnswersFromNoise() {
        Random r = new Random(14);
        int tokens = 0;
        for (int i = 0; i < 200; i++) {
            ObjectNode schema = new SchemaGenerator(r).root();
            String text = JSON.writeValueAsString(schema);
            Generation g = answer(JsonSchemaGrammar.constraint(text), i);
            assertEquals(Generation.StopReason.END_OF_GENERATION, g.stopReason(), "schema " + i + " " + text + " → " + g.content());
            List<String> errors = errors(schema, g.content());
            assertTrue(errors.isEmpty(), "schema " + i + " " + text + "\n→ " + g.content() + "\n" + errors);
            tokens += g.generatedTokens();
        }
        assertTrue(tokens > 200 * 3, "answers are not trivially short: " + tokens + " tokens");
    }

    @Test
    void withoutTheGrammarTheNoiseIsNotJson() {
        Generation g = answer(null, 1);
        assertThrows(Exception.class, () -> JSON.readTree(g.content()), g.content());
    }

    @Test
    void integerBoundsAreExact() {
        // Every integer of a range is accepted and its neighbours are not.
        long[][] ranges = {{0, 9}, {7, 123}, {-15, 4}, {-300, -12}, {99, 1000}, {5, 5}};
        for (long[] range : ranges) {
            String schema = "{\"type\":\"integer\",\"minimum\":" + range[0] + ",\"maximum\":" + range[1] + "}";
            GrammarConstraint c = JsonSchemaGrammar.constraint(schema);
            for (long v = range[0] - 3; v <= range[1] + 3; v++) {
                OutputConstraint.Matcher m = c.start();
                boolean ok = m.feed(Long.toString(v).getBytes(StandardCharsets.UTF_8)) && m.complete();
                assertEquals(v >= range[0] && v <= range[1], ok, schema + ": " + v);
            }
            OutputConstraint.Matcher m = c.start();
            assertFalse(m.feed("007".getBytes()) && m.complete(), "no leading zeros");
        }
        GrammarConstraint exclusive = JsonSchemaGrammar.constraint("{\"type\":\"integer\",\"exclusiveMinimum\":-2.5,\"exclusiveMaximum\":10}");
        for (int v = -5; v <= 12; v++) {
            OutputConstraint.Matcher m = exclusive.start();
            assertEquals(v >= -2 && v <= 9, m.feed(Integer.toString(v).getBytes()) && m.complete(), "exclusive: " + v);
        }
    }

    @Test
    void unsupportedKeywordsAreRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JsonSchemaGrammar.gbnf("{\"type\":\"string\",\"pattern\":\"^a+$\"}"));
        assertTrue(e.getMessage().contains("\"pattern\""), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> JsonSchemaGrammar.gbnf("{\"$ref\":\"#/$defs/missing\"}"));
        assertTrue(e.getMessage().contains("#/$defs/missing"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> JsonSchemaGrammar.gbnf("{\"type\":\"number\",\"minimum\":0.2,\"maximum\":0.7}"));
        assertTrue(e.getMessage().contains("no integer between"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> JsonSchemaGrammar.gbnf("{not json"));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    /** Number bounds: whatever the grammar takes is in range (checked on a grid), and every integer in range is taken. */
    @Test
    void numberBoundsHold() {
        String[][] bounds = {{"minimum", "-2.5", "maximum", "3"}, {"minimum", "0", "exclusiveMaximum", "2"},
                {"exclusiveMinimum", "-3", "maximum", "-1.5"}, {"minimum", "1.5", null, null}, {"maximum", "-0.5", null, null}};
        for (String[] b : bounds) {
            StringBuilder schema = new StringBuilder("{\"type\":\"number\",\"").append(b[0]).append("\":").append(b[1]);
            if (b[2] != null) {
                schema.append(",\"").append(b[2]).append("\":").append(b[3]);
            }
            schema.append('}');
            GrammarConstraint c = JsonSchemaGrammar.constraint(schema.toString());
            java.math.BigDecimal lo = b[0].contains("inimum") ? new java.math.BigDecimal(b[1]) : null;
            boolean loX = b[0].startsWith("exclusive");
            java.math.BigDecimal hi = b[0].contains("aximum") ? new java.math.BigDecimal(b[1])
                    : b[2] != null ? new java.math.BigDecimal(b[3]) : null;
            boolean hiX = b[0].equals("exclusiveMaximum") || "exclusiveMaximum".equals(b[2]);
            for (int i = -60; i <= 60; i++) {
                for (String text : new String[] {Integer.toString(i / 4), String.format("%.2f", i / 4.0), String.format("%.1f", i / 8.0)}) {
                    java.math.BigDecimal v = new java.math.BigDecimal(text);
                    boolean in = (lo == null || (loX ? v.compareTo(lo) > 0 : v.compareTo(lo) >= 0))
                            && (hi == null || (hiX ? v.compareTo(hi) < 0 : v.compareTo(hi) <= 0));
                    OutputConstraint.Matcher m = c.start();
                    boolean taken = m.feed(text.getBytes(StandardCharsets.UTF_8)) && m.complete();
                    assertTrue(!taken || in, schema + " takes " + text);
                    if (in && !text.contains(".")) {
                        assertTrue(taken, schema + " refuses the integer " + text);
                    }
                }
            }
        }
    }

    @Test
    void recursiveDefinitionsWork() {
        String schema = "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\",\"minimum\":0,"
                + "\"maximum\":9},\"kids\":{\"type\":\"array\",\"maxItems\":2,\"items\":{\"$ref\":\"#/$defs/node\"}}},"
                + "\"required\":[\"v\"],\"additionalProperties\":false}},\"$ref\":\"#/$defs/node\"}";
        GrammarConstraint c = JsonSchemaGrammar.constraint(schema);
        for (String ok : new String[] {"{\"v\":1}", "{\"v\":1,\"kids\":[{\"v\":2},{\"v\":3,\"kids\":[]}]}", "{ \"v\" : 0 }"}) {
            OutputConstraint.Matcher m = c.start();
            assertTrue(m.feed(ok.getBytes()) && m.complete(), ok);
            assertTrue(errors(JSON.readTree(schema), ok).isEmpty(), ok);
        }
        for (String bad : new String[] {"{\"kids\":[]}", "{\"v\":10}", "{\"v\":1,\"x\":2}", "{\"v\":1,\"kids\":[{},{},{}]}"}) {
            OutputConstraint.Matcher m = c.start();
            assertFalse(m.feed(bad.getBytes()) && m.complete(), bad);
        }
    }

    /**
     * Random schemas of what the grammar supports, with every string, array and repetition bounded so that a noise
     * model's answer ends (an unbounded string would take a random walk to close).
     */
    static final class SchemaGenerator {
        private final Random r;
        private final ObjectNode defs = JSON.createObjectNode();

        SchemaGenerator(Random r) {
            this.r = r;
        }

        ObjectNode root() {
            ObjectNode s = r.nextInt(4) == 0 ? object(2) : any(2);
            if (!defs.isEmpty()) {
                s.set("$defs", defs);
            }
            return s;
        }

        private ObjectNode any(int depth) {
            int kind = r.nextInt(depth > 0 ? 12 : 8);
            return switch (kind) {
                case 0 -> string();
                case 1 -> integer();
                case 2 -> JSON.createObjectNode().put("type", r.nextBoolean() ? "number" : "boolean");
                case 3 -> JSON.createObjectNode().put("type", "null");
                case 4 -> enumeration();
                case 5 -> constant();
                case 6 -> number();
                case 7 -> anyOf();
                case 8, 9 -> object(depth - 1);
                case 10 -> array(depth - 1);
                default -> ref(depth - 1);
            };
        }

        private ObjectNode string() {
            ObjectNode s = JSON.createObjectNode().put("type", "string");
            switch (r.nextInt(5)) {
                case 0 -> s.put("format", "date");
                case 1 -> s.put("format", "uuid");
                case 2 -> s.put("format", "date-time");
                default -> {
                    int min = r.nextInt(3);
                    s.put("minLength", min).put("maxLength", min + r.nextInt(8));
                }
            }
            return s;
        }

        private ObjectNode integer() {
            ObjectNode s = JSON.createObjectNode().put("type", "integer");
            long lo = r.nextInt(2000) - 1000;
            switch (r.nextInt(4)) {
                case 0 -> s.put("minimum", lo).put("maximum", lo + r.nextInt(500));
                case 1 -> s.put("minimum", lo);
                case 2 -> s.put("maximum", lo);
                default -> s.put("exclusiveMinimum", lo).put("exclusiveMaximum", lo + 2 + r.nextInt(50));
            }
            return s;
        }

        private ObjectNode number() {
            ObjectNode s = JSON.createObjectNode().put("type", "number");
            double lo = Math.round((r.nextDouble() * 200 - 100) * 4) / 4.0;
            switch (r.nextInt(4)) {
                case 0 -> s.put("minimum", lo).put("maximum", lo + 1 + r.nextInt(50));
                case 1 -> s.put("exclusiveMinimum", lo);
                case 2 -> s.put("maximum", lo);
                default -> s.put("minimum", 0);
            }
            return s;
        }

        private ObjectNode enumeration() {
            ArrayNode values = JSON.createArrayNode();
            int n = 1 + r.nextInt(4);
            for (int i = 0; i < n; i++) {
                switch (r.nextInt(3)) {
                    case 0 -> values.add("v" + i + (r.nextBoolean() ? " \"q\"" : "é"));
                    case 1 -> values.add(r.nextInt(100) - 50);
                    default -> values.add(i % 2 == 0);
                }
            }
            ObjectNode s = JSON.createObjectNode();
            s.set("enum", values);
            return s;
        }

        private ObjectNode constant() {
            ObjectNode s = JSON.createObjectNode();
            s.set("const", JSON.createObjectNode().put("k", "x\n").put("n", 1.5));
            return s;
        }

        private ObjectNode anyOf() {
            ArrayNode alts = JSON.createArrayNode();
            alts.add(string());
            alts.add(integer());
            alts.add(JSON.createObjectNode().put("type", "null"));
            ObjectNode s = JSON.createObjectNode();
            s.set(r.nextBoolean() ? "anyOf" : "oneOf", alts);
            return s;
        }

        private ObjectNode object(int depth) {
            ObjectNode props = JSON.createObjectNode();
            ArrayNode required = JSON.createArrayNode();
            int n = 1 + r.nextInt(4);
            for (int i = 0; i < n; i++) {
                String name = "p" + i + (r.nextInt(4) == 0 ? "_ü" : "");
                props.set(name, any(Math.max(0, depth)));
                if (r.nextBoolean()) {
                    required.add(name);
                }
            }
            ObjectNode s = JSON.createObjectNode().put("type", "object");
            s.set("properties", props);
            s.set("required", required);
            s.put("additionalProperties", false);
            return s;
        }

        private ObjectNode array(int depth) {
            ObjectNode s = JSON.createObjectNode().put("type", "array");
            s.set("items", any(Math.max(0, depth)));
            int min = r.nextInt(3);
            s.put("minItems", min).put("maxItems", min + r.nextInt(3));
            return s;
        }

        private ObjectNode ref(int depth) {
            String name = "d" + defs.size();
            defs.set(name, JSON.createObjectNode());  // the name taken before its body refers to others
            defs.set(name, object(Math.max(0, depth)));
            return JSON.createObjectNode().put("$ref", "#/$defs/" + name);
        }
    }
}
