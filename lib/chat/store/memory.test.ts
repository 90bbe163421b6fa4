import { messageStoreConformance } from './conformance';
import { MemoryMessageStore } from './memory';

messageStoreConformance('MemoryMessageStore', async (options) => new MemoryMessageStore(options));
