package example;

import dev.langchain4j.model.chat.ChatModel;
import io.jseek.langchain4j.JseekChatModel;

/**
 * LangChain4j's {@link ChatModel} backed by a jseek model in this process.
 *
 * <pre>java -cp … example.AskLangChain4j MODEL.gguf '47+38+95='</pre>
 * (CI runs it so, on the scalar kernels; add --add-modules jdk.incubator.vector for the SIMD ones.)
 */
public final class AskLangChain4j {
    public static void main(String[] args) {
        try (JseekChatModel jseek = JseekChatModel.builder().modelPath(args[0]).temperature(0).maxTokens(64).build()) {
            ChatModel model = jseek;
            System.out.println("answer: " + model.chat(args[1]).strip());
        }
    }
}
