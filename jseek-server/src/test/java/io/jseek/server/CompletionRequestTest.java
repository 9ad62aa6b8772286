package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jseek.engine.JsonConstraint;
import io.jseek.engine.SamplerConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Request parsing alone: JSON in, record or an error naming the field out, no model or server. */
class CompletionRequestTest {
    private static CompletionRequest chat(String json) {
        return CompletionRequest.chat(Server.JSON.readTree(json), 100, io.jseek.engine.SamplerConfig.defaults(0));
    }

    private static ApiException chatError(String json) {
        return assertThrows(ApiException.class, () -> chat(json));
    }

    @Test
    void aMinimalChatGetsDeepSeeksDefaults() {
        CompletionRequest r = chat("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        SamplerConfig d = SamplerConfig.defaults(0);
        assertEquals(1, r.conversation().messages().size());
        assertEquals("", r.conversation().assistantPrefix());
        assertEquals(d.temperature(), r.temperature());
        assertEquals(d.topP(), r.topP());
        assertNull(r.maxTokens());
        assertNull(r.seed());
        assertNull(r.tools());
        assertEquals(-1, r.topLogprobs());
        assertEquals(List.of(), r.stops());
        assertEquals(false, r.stream());
    }

    @Test
    void everyFieldIsRead() {
        CompletionRequest r = chat("""
                {"model":"m","messages":[{"role":"system","content":"s"},{"role":"assistant","content":"p","prefix":true}],
                 "max_completion_tokens":7,"max_tokens":3,"temperature":0.5,"top_p":0.9,"top_k":4,"min_p":0.1,
                 "presence_penalty":1,"frequency_penalty":-1,"repetition_penalty":1.1,"seed":9,"logit_bias":{"5":-100,"6":2},
                 "stop":"x","logprobs":true,"top_logprobs":3,"response_format":{"type":"json_object"},"stream":true,
                 "stream_options":{"include_usage":true},"tools":[{"type":"function","function":{"name":"f"}}]}""");
        assertEquals("m", r.model());
        assertEquals("p", r.conversation().assistantPrefix());
        assertEquals("max_completion_tokens", r.limitField());
        assertEquals(7, r.maxTokens());
        assertEquals(4, r.topK());
        assertEquals(9L, r.seed());
        assertEquals(Map.of(5, Float.NEGATIVE_INFINITY, 6, 2f), r.logitBias());
        assertEquals(List.of("x"), r.stops());
        assertEquals(3, r.topLogprobs());
        assertEquals(JsonConstraint.OBJECT, r.responseFormat());
        assertEquals(true, r.stream() && r.includeUsage());
        assertEquals(1, r.tools().size());
    }

    @Test
    void toolChoiceNoneTurnsToolsOff() {
        assertNull(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tool_choice\":\"none\","
                + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}").tools());
    }

    @Test
    void badFieldsAreNamed() {
        String msgs = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
        assertEquals("messages", chatError("{\"messages\":[]}").param);
        assertEquals("messages[0].role", chatError("{\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}").param);
        assertEquals("n", chatError("{" + msgs + ",\"n\":2}").param);
        assertEquals("top_p", chatError("{" + msgs + ",\"top_p\":0}").param);
        assertEquals("temperature", chatError("{" + msgs + ",\"temperature\":3}").param);
        assertEquals("max_tokens", chatError("{" + msgs + ",\"max_tokens\":0}").param);
        assertEquals("seed", chatError("{" + msgs + ",\"seed\":1.5}").param);
        assertEquals("logit_bias", chatError("{" + msgs + ",\"logit_bias\":{\"100\":1}}").param);
        assertEquals("stop", chatError("{" + msgs + ",\"stop\":[1]}").param);
        assertEquals("tool_choice", chatError("{" + msgs + ",\"tool_choice\":\"maybe\",\"tools\":[{}]}").param);
        assertEquals("top_logprobs", chatError("{" + msgs + ",\"top_logprobs\":2}").param);
        assertEquals("prompt", assertThrows(ApiException.class,
                () -> CompletionRequest.text(Server.JSON.readTree("{\"prompt\":3}"), 100, io.jseek.engine.SamplerConfig.defaults(0))).param);
    }

    @Test
    void textTakesAOneElementPromptArrayAndASuffix() {
        CompletionRequest r = CompletionRequest.text(Server.JSON.readTree("{\"prompt\":[\"a\"],\"suffix\":\"b\"}"), 100, io.jseek.engine.SamplerConfig.defaults(0));
        assertEquals("a", r.prompt());
        assertEquals("b", r.suffix());
        assertNull(r.conversation());
    }
}
