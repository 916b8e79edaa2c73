/*=========================================================================
 *
 *  Copyright NumFOCUS
 *
 *  Licensed under the Apache License, Version 2.0 (the "License");
 *  you may not use this file except in compliance with the License.
 *  You may obtain a copy of the License at
 *
 *         https://www.apache.org/licenses/LICENSE-2.0.txt
 *
 *  Unless required by applicable law or agreed to in writing, software
 *  distributed under the License is distributed on an "AS IS" BASIS,
 *  WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 *  See the License for the specific language governing permissions and
 *  limitations under the License.
 *
 *=========================================================================*/
#ifndef anunet_AtomicFile_h
#define anunet_AtomicFile_h

#include "anunet/ANUNetCoreExport.h"

#include <string>

namespace anunet
{

/** Every result file of the module (checkpoints, exports, images, records, logs of a batch) is written the
 * same way: to a temporary name in the same folder, flushed to the disk, then renamed over the final name.
 * A reader never sees half a file, a failed write (a full disk) leaves the previous file as it was, and a
 * kill leaves at most a temporary that removeStaleTemporaryFiles() recognises. */

/** ".<stem>.partial-<pid><extensions>" beside path: hidden, never matching a result's pattern, and keeping
 * every extension (".nii.gz"), so that ITK picks the same ImageIO for it. */
ANUNetCore_EXPORT std::string
                  temporaryNameFor(const std::string & path);

/** Writes bytes to path atomically. Throws std::runtime_error naming path and the system's reason. */
ANUNetCore_EXPORT void
writeFileAtomically(const std::string & path, const std::string & bytes);

/** For a writer that needs a file name (an ITK ImageIO): flushes the finished temporary to the disk and renames
 * it to path. The temporary is removed on failure; throws std::runtime_error naming path. */
ANUNetCore_EXPORT void
commitTemporaryFile(const std::string & temporary, const std::string & path);

/** Deletes the temporaries in folder whose writing process no longer exists (a killed run's); nothing ever
 * reads them. Files of a live writer and other names are kept. */
ANUNetCore_EXPORT void
removeStaleTemporaryFiles(const std::string & folder);

} // namespace anunet

#endif
