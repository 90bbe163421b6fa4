import { messageStoreConformance } from './conformance';
import { directoryConformance } from './directory-conformance';
import { searchConformance } from './search-conformance';
import { MemoryMessageStore } from './memory';

messageStoreConformance('MemoryMessageStore', async (options) => new MemoryMessageStore(options));
directoryConformance('MemoryMessageStore', async (options) => new MemoryMessageStore(options));
searchConformance('MemoryMessageStore', async (options) => new MemoryMessageStore(options));
